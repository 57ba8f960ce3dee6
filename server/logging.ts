/**
 * Where the server's log lines go, and in which format (docs/control-plane.md#logs): on a terminal,
 * short coloured lines (time, level, session, what happened, then the details on the same line);
 * otherwise one JSON object per line, which log tools read. `logFormat` chooses explicitly.
 *
 * pino-pretty does the formatting: it is pino's own formatter, kept in step with pino's line format,
 * and it handles colour support (NO_COLOR, FORCE_COLOR, terminals without colour) for us. It is
 * loaded only when pretty lines are wanted, so JSON logging (servers in tests, CI) never pays for it.
 * Credentials are masked by the logger itself (app.ts) before a line reaches either format.
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream } from 'pino';
import type PinoPretty from 'pino-pretty';

export type LogFormat = 'auto' | 'pretty' | 'json';

/**
 * Fields a pretty line leaves out: the same on every line, shown in front (the session's or the
 * request's id, shortened), or the account, repeated on every line of a session. JSON lines keep
 * them all.
 */
const PRETTY_HIDDEN = 'pid,hostname,service,correlationId,reqId,account';

/** A session's or request's correlation id, shortened to what tells sessions apart on a screen. */
export function shortId(correlationId: string): string {
  return correlationId.slice(0, 8);
}

/** Whether `format` means pretty lines on stderr. */
export function wantsPretty(format: LogFormat, stderrIsTty: boolean = process.stderr.isTTY === true): boolean {
  return format === 'pretty' || (format === 'auto' && stderrIsTty);
}

/** The log destination for `format`: pretty lines or JSON lines, both on stderr, written synchronously (nothing lost at exit). */
export function logDestination(format: LogFormat): DestinationStream {
  if (!wantsPretty(format)) return pino.destination(2);
  return prettyStream({ destination: 2, sync: true, colorize: coloursOnStderr() });
}

/**
 * Whether to colour lines written to stderr: FORCE_COLOR (not 0) says yes, NO_COLOR says no
 * (no-color.org), else a terminal that is not dumb. pino-pretty's own default looks at stdout.
 */
export function coloursOnStderr(env: NodeJS.ProcessEnv = process.env, isTty: boolean = process.stderr.isTTY === true): boolean {
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0') return true;
  if ('NO_COLOR' in env) return false;
  return isTty && env['TERM'] !== 'dumb';
}

/** A pino-pretty stream with ih-mock's line format. `options` are pino-pretty's (destination, colorize, …). */
export function prettyStream(options: PinoPretty.PrettyOptions = {}): DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return pretty({
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: PRETTY_HIDDEN,
    singleLine: true,
    messageFormat: (log, messageKey) => {
      const correlation = log['correlationId'] ?? log['reqId'];
      const id = typeof correlation === 'string' ? `${shortId(correlation)} ` : '';
      return `${id}${String(log[messageKey] ?? '')}`;
    },
    ...options,
  });
}

/**
 * The server's logging, in one place (docs/control-plane.md#logs): the pino logger, what removes
 * credentials from every line, and where lines go in which format.
 *
 * Credentials: a scrubber rather than a list of paths, because credentials reach log calls we do
 * not write. At `trace`, @fastify/multipart logs its whole options object, request headers included
 * (`busboyOptions.headers.authorization`); a fixed path list misses the next library that does the
 * same. So every logged object is walked, and a value is replaced wherever its key names a
 * credential (`authorization`, `cookie`, `sec-websocket-protocol`, `key_secret`, `access_token`, …,
 * compared without case, `-` or `_`), at any depth. Strings (the message included) have
 * `Bearer <credential>` masked wherever it appears; buffers are logged as their length only, since
 * raw request bytes (the HTTP parser's `rawPacket`) hold headers. This happens in the logger, at
 * every level, before a line reaches either format.
 *
 * Formats (`logFormat`): on a terminal, short coloured lines (time, level, session, what happened,
 * then the details on the same line); otherwise one JSON object per line, which log tools read.
 * pino-pretty does the formatting: it is pino's own formatter, kept in step with pino's line format,
 * and it handles colour support (NO_COLOR, FORCE_COLOR, terminals without colour) for us. It is
 * loaded only when pretty lines are wanted, so JSON logging (servers in tests, CI) never pays for it.
 *
 * Invariant: what ih-mock code logs about a credential is its source and an account label (a hash),
 * never the value; this module is the net under that rule.
 */
import type { DestinationStream, Logger, LevelWithSilent } from 'pino';
import type PinoPretty from 'pino-pretty';
import { requireCjs } from './require-cjs.js';

const { pino, stdSerializers } = requireCjs('pino') as typeof import('pino');

// ---- Credentials out of every line --------------------------------------------------------------

/** What a credential is replaced with (the recorder writes the same). */
const CENSOR = '[redacted]';

/** Keys whose values are credentials, normalised by `normaliseKey`. */
const CREDENTIAL_KEYS = new Set([
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'secwebsocketprotocol',
  'xapikey',
  'xihadmintoken',
  'admintoken',
  'apikey',
  'apikeys',
  'keysecret',
  'keypairs',
  'clientsecret',
  'secret',
  'password',
  'accesstoken',
  'refreshtoken',
  'token',
  'credential',
]);

/** Deeper than any object ih-mock or its libraries log; past it, values are dropped. */
const MAX_DEPTH = 12;

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

/** True when values under `key` are credentials. */
export function isCredentialKey(key: string): boolean {
  return CREDENTIAL_KEYS.has(normaliseKey(key));
}

const BEARER = /\b(Bearer)\s+[^\s"',;]+/gi;

/** `text` with every `Bearer <credential>` masked. */
export function scrubString(text: string): string {
  return text.includes('earer') || text.includes('EARER') ? text.replace(BEARER, `$1 ${CENSOR}`) : text;
}

/** A copy of `value` with every credential replaced (see the module header). Never mutates. */
export function scrub(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return '[too deep]';
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Error) return scrub(stdSerializers.err(value), depth + 1, seen);
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = isCredentialKey(key) && item !== undefined && item !== null ? CENSOR : scrub(item, depth + 1, seen);
  return out;
}

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Where lines go (default stderr). */
  destination?: DestinationStream;
}

/** The server's logger (see the module header). */
export function createLogger({ level, destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { service: 'ih-mock' },
      formatters: {
        log: (object) => scrub(object) as Record<string, unknown>,
        bindings: (bindings) => scrub(bindings) as Record<string, unknown>,
      },
      serializers: {
        // Serializers run after `formatters.log`: an Error logged under `err` is scrubbed here.
        err: (err: Error) => scrub(err),
        msg: (msg: unknown) => (typeof msg === 'string' ? scrubString(msg) : msg),
      },
    },
    destination ?? pino.destination(2),
  );
}

// ---- Where lines go, in which format ------------------------------------------------------------

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
  const pretty = requireCjs('pino-pretty') as typeof PinoPretty;
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

// ---- A session's lines --------------------------------------------------------------------------

/**
 * The server's logger with a stream session's fields put at the front of each line, as a pino child
 * logger would: same lines, but no logger object and bindings string per session. A server with
 * thousands of sessions kept all of those alive for the sessions' lives, for the two lines most of
 * them log, and every mark-compact walked them (bench/README.md, "Scale"). The fields are only
 * copied into a line that is written.
 */
export class SessionLog {
  constructor(
    private readonly root: Logger,
    private readonly correlationId: string,
    private readonly account: string,
  ) {}

  error(obj: object, msg: string): void {
    this.write('error', obj, msg);
  }

  warn(obj: object, msg: string): void {
    this.write('warn', obj, msg);
  }

  info(obj: object, msg: string): void {
    this.write('info', obj, msg);
  }

  debug(obj: object, msg: string): void {
    this.write('debug', obj, msg);
  }

  isLevelEnabled(level: string): boolean {
    return this.root.isLevelEnabled(level);
  }

  private write(level: 'error' | 'warn' | 'info' | 'debug', obj: object, msg: string): void {
    if (this.root.isLevelEnabled(level)) this.root[level]({ correlationId: this.correlationId, account: this.account, ...obj }, msg);
  }
}

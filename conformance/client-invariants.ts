/**
 * Client invariants: what a client under test must do, judged from the wire (the traces of every
 * connection it made during one case) and, when it wrote one, from its observation file (its own
 * view: the events it received, the errors it surfaced, its final signal spans).
 *
 * Like the server invariants (invariants.ts) each has a stable id, a one-line statement and a
 * severity, and reports the frame (or the observation line) that broke it.
 */
import { isKnownEventType, validateCloseFrame, validateConfigFrame } from '../server/validation.js';
import { rule, type Rule, type Severity } from './invariants.js';
import type { ParsedEvent, Trace } from './trace.js';
import { acceptedUpload, finalUploadError, UPLOAD_INVARIANTS } from './upload-invariants.js';
import { answerSpans, type UploadExchange } from './uploads.js';

/** Everything one case run produced. */
export interface ClientRun {
  /** One trace per connection, in the order they were opened, with each one's open time (ms since the case began). */
  sessions: { trace: Trace; openedAt: number; closedAt: number | null }[];
  /** Every upload the client made, in order (upload cases). */
  uploads: UploadExchange[];
  /** Size of the media file the client was given (null: unknown), to check an upload carried all of it. */
  mediaBytes: number | null;
  /** The client's observation lines, if it wrote any (null: no file). */
  observations: Observation[] | null;
  /** The client's exit code (null: it was stopped). */
  exitCode: number | null;
  /** Error codes the case's scenario sends on purpose (faults): not the client's doing. */
  scriptedErrors: ReadonlySet<string>;
}

export type Observation =
  | { kind: 'event'; type: string; data: unknown }
  | { kind: 'error'; code: string; segment?: number | null }
  | { kind: 'spans'; spans: { signal_type: string; start: number; end: number | null }[] }
  | { kind: 'invalid'; line: number; text: string };

/** A client invariant: a rule over everything one case run produced. */
export type ClientInvariant = Rule<ClientRun>;

const invariant = (id: string, statement: string, severity: Severity, find: (run: ClientRun, report: (frame: number | null, message: string) => void) => void): ClientInvariant => rule(id, statement, severity, find);

function events(trace: Trace): { index: number; event: ParsedEvent }[] {
  return trace.frames.flatMap((f) => (f.from === 'server' && f.kind === 'text' && f.event ? [{ index: f.index, event: f.event }] : []));
}

function readyData(trace: Trace): Record<string, unknown> | null {
  const ready = events(trace).find((e) => e.event.type === 'session.ready');
  const data = ready?.event.data;
  return data !== null && typeof data === 'object' ? (data as Record<string, unknown>) : null;
}

function isCloseText(text: string): boolean {
  try {
    return (JSON.parse(text) as { type?: unknown }).type === 'session.close';
  } catch {
    return false;
  }
}

/** The signal spans the wire implies: detected → ended; still active at the end: closed at the last media time seen. */
export function wireSpans(trace: Trace): { signal_type: string; start: number; end: number }[] {
  const spans: { signal_type: string; start: number; end: number }[] = [];
  const active = new Map<string, number>();
  let lastTime = 0;
  for (const { event } of events(trace)) {
    // Unknown types say nothing a client may rely on (it must ignore them), media times included.
    if (!isKnownEventType(event.type)) continue;
    const d = (event.data ?? {}) as Record<string, unknown>;
    for (const key of ['start', 'end']) if (typeof d[key] === 'number') lastTime = Math.max(lastTime, d[key] as number);
    if (event.type === 'conversation_quality.updated' && Array.isArray(d['timeline'])) for (const p of d['timeline'] as { end?: unknown }[]) if (typeof p.end === 'number') lastTime = Math.max(lastTime, p.end);
    if (event.type === 'signal.detected' && typeof d['start'] === 'number') active.set(String(d['signal_type']), d['start']);
    if (event.type === 'signal.ended' && active.has(String(d['signal_type']))) {
      spans.push({ signal_type: String(d['signal_type']), start: active.get(String(d['signal_type']))!, end: d['end'] as number });
      active.delete(String(d['signal_type']));
    }
  }
  for (const [signal_type, start] of active) spans.push({ signal_type, start, end: lastTime });
  return spans;
}

// String(): a client may write spans without a type (JSON drops undefined); they must still sort, and show as "undefined".
const byTypeAndStart = (a: { signal_type: string; start: number }, b: { signal_type: string; start: number }) => a.start - b.start || String(a.signal_type).localeCompare(String(b.signal_type));

export const CLIENT_INVARIANTS: readonly ClientInvariant[] = [
  invariant('client.waits-for-ready', 'no video is sent before session.ready has arrived (the client cannot know the limits yet)', 'error', (run, report) => {
    for (const { trace } of run.sessions) {
      for (const f of trace.frames) {
        if (f.from === 'server' && f.kind === 'text' && f.event?.type === 'session.ready') break;
        if (f.from === 'client' && f.kind === 'binary') {
          report(f.index, `a ${f.bytes}-byte segment before session.ready`);
          break;
        }
      }
    }
  }),
  invariant('client.config-valid', 'every text frame is a valid session config frame or {"type":"session.close"}', 'error', (run, report) => {
    for (const { trace } of run.sessions) {
      for (const f of trace.frames) {
        if (!(f.from === 'client' && f.kind === 'text')) continue;
        let value: unknown;
        try {
          value = JSON.parse(f.text);
        } catch {
          report(f.index, `not JSON: ${f.text.slice(0, 60)}`);
          continue;
        }
        if (!validateConfigFrame(value).ok && !validateCloseFrame(value).ok) report(f.index, `neither a config frame nor session.close: ${f.text.slice(0, 100)}`);
      }
    }
  }),
  invariant('client.segment-size', 'no segment is larger than max_segment_size_bytes announced in session.ready', 'error', (run, report) => {
    for (const { trace } of run.sessions) {
      const limit = readyData(trace)?.['max_segment_size_bytes'];
      if (typeof limit !== 'number') continue;
      for (const f of trace.frames) if (f.from === 'client' && f.kind === 'binary' && f.bytes > limit) report(f.index, `a ${f.bytes}-byte segment; the limit is ${limit}`);
    }
  }),
  invariant('client.segment-duration', 'segments are accepted: none refused as too short (ih5006), too large (ih6002) or unreadable (ih5004)', 'error', (run, report) => {
    for (const { trace } of run.sessions) {
      for (const { index, event } of events(trace)) {
        const code = (event.data as { code?: unknown } | undefined)?.code;
        if (event.type === 'error' && (code === 'ih5006' || code === 'ih6002' || code === 'ih5004') && !run.scriptedErrors.has(code)) report(index, `the server refused a segment with ${String(code)}`);
      }
    }
  }),
  invariant('client.no-media-after-close', 'no video is sent after session.close', 'error', (run, report) => {
    for (const { trace } of run.sessions) {
      let closedAt: number | null = null;
      for (const f of trace.frames) {
        if (f.from === 'client' && f.kind === 'text' && isCloseText(f.text)) closedAt ??= f.index;
        else if (closedAt !== null && f.from === 'client' && f.kind === 'binary') report(f.index, `a segment after session.close (frame ${closedAt})`);
      }
    }
  }),
  invariant('client.graceful-close', 'a session the server did not end ends with session.close and the server closing 1000 (or the client closing 1000)', 'error', (run, report) => {
    for (const { trace } of run.sessions) {
      const close = trace.frames.find((f) => f.kind === 'close');
      if (!close || close.kind !== 'close') {
        report(null, `${trace.source}: the connection never closed`);
        continue;
      }
      const serverEnded = close.from === 'server';
      if (serverEnded) continue; // the server ended it (graceful, an error, a timeout): not the client's doing
      if (close.code !== 1000) report(close.index, `the client closed with ${close.code}${close.code === 1006 ? ' (dropped the connection)' : ''}, not with session.close or 1000`);
    }
  }),
  invariant('client.no-hammering', 'after a server close the client reconnects, if at all, after a backoff (at least 1 s) and at most 3 times', 'error', (run, report) => {
    run.sessions.forEach((s, i) => {
      if (i === 0) return;
      const previous = run.sessions[i - 1]!;
      if (i > 3) report(null, `connection ${i + 1} in one case (more than 3 reconnects)`);
      if (previous.closedAt !== null && s.openedAt - previous.closedAt < 1000) report(null, `reconnected ${Math.round(s.openedAt - previous.closedAt)} ms after connection ${i} closed`);
    });
  }),
  invariant('client.no-idle-timeout', 'the client keeps the session alive or closes it before the idle timeout (no ih6003)', 'warning', (run, report) => {
    for (const { trace } of run.sessions) for (const { index, event } of events(trace)) if (event.type === 'error' && (event.data as { code?: unknown } | undefined)?.code === 'ih6003') report(index, 'the session timed out idle');
  }),

  // ---- The client's own view (only with an observation file) ----------------------------------
  invariant('client.observations-readable', 'the observation file holds one valid JSON object per line of the documented kinds', 'warning', (run, report) => {
    for (const o of run.observations ?? []) if (o.kind === 'invalid') report(null, `observation line ${o.line} is not a valid observation: ${o.text.slice(0, 80)}`);
  }),
  invariant('client.events-in-order', 'the client received every server event, in order, unknown types included', 'error', (run, report) => {
    if (!run.observations) return;
    const seen = run.observations.filter((o): o is Extract<Observation, { kind: 'event' }> => o.kind === 'event');
    const wire = run.sessions.flatMap(({ trace }) => events(trace).map((e) => e.event));
    for (let i = 0; i < wire.length; i++) {
      const got = seen[i];
      if (!got) {
        report(null, `the client observed ${seen.length} events; the wire carried ${wire.length} (the first missing is ${wire[i]!.type})`);
        return;
      }
      if (got.type !== wire[i]!.type || JSON.stringify(got.data) !== JSON.stringify(wire[i]!.data)) {
        report(null, `observed event ${i + 1} is ${got.type}, the wire's is ${wire[i]!.type}`);
        return;
      }
    }
  }),
  invariant('client.spans-closed', 'every signal the client saw detected is closed in its final view (by signal.ended, or at the disconnect)', 'error', (run, report) => {
    if (!run.observations) return;
    const final = run.observations.find((o): o is Extract<Observation, { kind: 'spans' }> => o.kind === 'spans');
    if (!final) {
      report(null, 'the client wrote no final spans');
      return;
    }
    for (const span of final.spans) if (typeof span.end !== 'number') report(null, `${span.signal_type} from ${span.start} has no end`);
  }),
  invariant('client.spans-match', "the client's final signal spans are the ones the wire implies (the stream's events, or the accepted upload's signals)", 'error', (run, report) => {
    if (!run.observations) return;
    const final = run.observations.find((o): o is Extract<Observation, { kind: 'spans' }> => o.kind === 'spans');
    if (!final) return;
    const accepted = acceptedUpload(run);
    const wire = [...run.sessions.flatMap(({ trace }) => wireSpans(trace)), ...(accepted ? answerSpans(accepted) : [])].sort(byTypeAndStart);
    const mine = [...final.spans].sort(byTypeAndStart);
    const key = (s: { signal_type: string; start: number; end: number | null }) => `${s.signal_type} [${s.start}, ${s.end ?? 'open'})`;
    const missing = wire.filter((w) => !mine.some((m) => key(m) === key(w)));
    const extra = mine.filter((m) => !wire.some((w) => key(w) === key(m)));
    if (missing.length || extra.length) report(null, `spans differ: missing ${missing.map(key).join(', ') || 'none'}; unexpected ${extra.map(key).join(', ') || 'none'}`);
  }),
  invariant('client.errors-surfaced', 'every error the server sent is surfaced by the client with its code (an upload error it retried excepted)', 'error', (run, report) => {
    if (!run.observations) return;
    const surfaced = run.observations.filter((o): o is Extract<Observation, { kind: 'error' }> => o.kind === 'error').map((o) => o.code);
    for (const { trace } of run.sessions) {
      for (const { index, event } of events(trace)) {
        if (event.type !== 'error') continue;
        const code = String((event.data as { code?: unknown } | undefined)?.code);
        const at = surfaced.indexOf(code);
        if (at < 0) report(index, `error ${code} was not surfaced`);
        else surfaced.splice(at, 1);
      }
    }
    const upload = finalUploadError(run);
    if (upload && !surfaced.includes(upload.code)) report(null, `upload ${upload.exchange.number}'s answer ${upload.code} was not surfaced`);
  }),
  ...UPLOAD_INVARIANTS,
];

/** Parse an observation file's text into observations (bad lines become `invalid`). */
export function parseObservations(text: string): Observation[] {
  const out: Observation[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const value = JSON.parse(line) as Record<string, unknown>;
      const ok =
        (value['kind'] === 'event' && typeof value['type'] === 'string') ||
        (value['kind'] === 'error' && typeof value['code'] === 'string') ||
        (value['kind'] === 'spans' && Array.isArray(value['spans']));
      out.push(ok ? (value as Observation) : { kind: 'invalid', line: i + 1, text: line });
    } catch {
      out.push({ kind: 'invalid', line: i + 1, text: line });
    }
  });
  return out;
}

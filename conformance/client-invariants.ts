/**
 * Client invariants: what a client under test must do, judged from the wire (the traces of every
 * connection it made during one case) and, when it wrote one, from its observation file (its own
 * view: the events it received, the errors it surfaced, its final signal spans).
 *
 * Like the server invariants (invariants.ts) each has a stable id, a one-line statement and a
 * severity, and reports the frame (or the observation line) that broke it.
 */
import { isCredentialName } from '../server/record/redact.js';
import { isKnownEventType, validateCloseFrame, validateConfigFrame } from '../server/validation.js';
import { rule, type Rule, type Severity } from './invariants.js';
import type { ParsedEvent, RefusedUpgrade, Trace } from './trace.js';
import { acceptedUpload, finalUploadError, UPLOAD_INVARIANTS } from './upload-invariants.js';
import { answerSpans, type UploadExchange } from './uploads.js';

/** Everything one case run produced. */
export interface ClientRun {
  /** One trace per connection, in the order they were opened, with each one's open time (ms since the case began). */
  sessions: { trace: Trace; openedAt: number; closedAt: number | null }[];
  /** Stream upgrades the server refused (no session: a bad credential gets 401), in order. */
  refusedUpgrades: RefusedUpgrade[];
  /** Every upload the client made, in order (upload cases). */
  uploads: UploadExchange[];
  /** Size of the media file the client was given (null: unknown), to check an upload carried all of it. */
  mediaBytes: number | null;
  /** The client's observation lines, if it wrote any (null: no file). */
  observations: Observation[] | null;
  /** The client's exit code (null: it was stopped). */
  exitCode: number | null;
  /** Error codes the case sends on purpose (faults; ih2001 when the case gives a revoked key): not the client's doing. */
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

/** Codes that refuse a credential (PROTOCOL 1): invalid (ih2001) or missing (ih2002). */
const AUTH_CODES = new Set(['ih2001', 'ih2002']);

/** What was wrong with how a refused request carried its credential, as far as the recording shows. */
function credentialProblem(request: { authorization: string | null; subprotocol?: boolean; query: string }, stream: boolean): string {
  const inQuery = [...new URLSearchParams(request.query).keys()].filter(isCredentialName);
  const where = inQuery.length > 0 ? ` (the query parameter ${inQuery.join(', ')} is not read)` : '';
  if (request.authorization !== null && !/^Bearer\s/i.test(request.authorization)) return `the Authorization header is "${request.authorization}", not "Bearer <key>"${where}`;
  if (request.authorization === null && !request.subprotocol) return `no credential: neither an Authorization header${stream ? ' nor a WebSocket subprotocol' : ''}${where}`;
  return 'the credential was refused: send IH_API_KEY as it is';
}

/** One connection attempt: an accepted session or a refused upgrade, numbered in the order they were made. */
interface Attempt {
  number: number;
  at: number;
  closedAt: number | null;
  /** Why it ended for good, if it did: after that the client must not open another session. */
  final: string | null;
}

/** Server events and close codes after which a session is over for good (PROTOCOL 1, 3.6). */
const FINAL_ERRORS: Readonly<Record<string, string>> = { ih2003: 'error ih2003, the credential lacks the stream scope', ih3003: 'error ih3003, the usage quota is exhausted' };
const FINAL_CLOSE_CODES: Readonly<Record<number, string>> = { 4003: 'close 4003, missing scope', 4029: 'close 4029, quota exhausted' };

function finalEnd(trace: Trace): string | null {
  for (const f of trace.frames) {
    if (f.from === 'server' && f.kind === 'text' && f.event) {
      if (f.event.type === 'session.ended') return 'session.ended';
      const code = f.event.type === 'error' ? String((f.event.data as { code?: unknown } | undefined)?.code) : '';
      if (FINAL_ERRORS[code]) return FINAL_ERRORS[code];
    }
    if (f.kind === 'close' && f.from === 'server' && FINAL_CLOSE_CODES[f.code]) return FINAL_CLOSE_CODES[f.code]!;
  }
  return null;
}

function connectionAttempts(run: ClientRun): Attempt[] {
  const attempts = [
    ...run.sessions.map((s) => ({ at: s.openedAt, closedAt: s.closedAt, final: finalEnd(s.trace) })),
    ...run.refusedUpgrades.map((r) => ({ at: r.at, closedAt: r.at, final: r.status === 401 || r.status === 403 ? `the upgrade was refused with ${r.status}${r.code ? ` ${r.code}` : ''}` : null })),
  ];
  return attempts.sort((a, b) => a.at - b.at).map((a, i) => ({ ...a, number: i + 1 }));
}

/** How long after session.close a client may give up waiting, beyond the announced max_drain_seconds (ms). */
const DRAIN_SLACK_MS = 1000;

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
  invariant('client.graceful-close', 'a session the server did not end is closed cleanly: by the server after session.ended, or by the client with 1000 (never dropped, never another code)', 'error', (run, report) => {
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
  invariant('client.close-requested', 'a session the client ends is ended with {"type":"session.close"}, and the client waits for session.ended (up to max_drain_seconds) before closing: closing the socket first cancels the trailing analysis', 'error', (run, report) => {
    for (const { trace } of run.sessions) {
      let closeAsked: { index: number; t: number } | null = null;
      let maxDrainSeconds: number | null = null;
      for (const f of trace.frames) {
        if (f.from === 'client' && f.kind === 'text' && isCloseText(f.text)) closeAsked ??= { index: f.index, t: f.t };
        if (f.from === 'server' && f.kind === 'text' && f.event?.type === 'session.closing') {
          const announced = (f.event.data as { max_drain_seconds?: unknown } | undefined)?.max_drain_seconds;
          if (typeof announced === 'number') maxDrainSeconds = announced;
        }
        if (f.from === 'server' && f.kind === 'text' && f.event?.type === 'session.ended') break; // the session is over: any close is fine
        if (f.kind !== 'close') continue;
        if (f.from === 'server') break; // the server ended it: not the client's doing
        if (!closeAsked) report(f.index, `the client closed the connection (${f.code}) without sending {"type":"session.close"}: the analysis still in flight was cancelled`);
        else if (maxDrainSeconds === null || f.t - closeAsked.t < maxDrainSeconds * 1000 + DRAIN_SLACK_MS) {
          report(f.index, `the client closed the connection (${f.code}) ${Math.round(f.t - closeAsked.t)} ms after session.close (frame ${closeAsked.index}), before session.ended${maxDrainSeconds === null ? '' : ` (the drain may take ${maxDrainSeconds} s)`}: the trailing analysis was lost`);
        }
        break;
      }
    }
  }),
  invariant('client.no-hammering', 'after a server close or a refused upgrade the client reconnects, if at all, after a backoff (at least 1 s) and at most 3 times', 'error', (run, report) => {
    const attempts = connectionAttempts(run);
    attempts.forEach((a, i) => {
      if (i === 0) return;
      const previous = attempts[i - 1]!;
      if (i > 3) report(null, `connection ${a.number} in one case (more than 3 reconnects)`);
      if (previous.closedAt !== null && a.at - previous.closedAt < 1000) report(null, `reconnected ${Math.round(a.at - previous.closedAt)} ms after connection ${previous.number} closed`);
    });
  }),
  invariant('client.no-reconnect-after-final', 'after session.ended, ih2003 (4003), ih3003 (4029) or a refused upgrade (401) the client opens no new session on its own (after a drop or 1011 it may, with backoff)', 'error', (run, report) => {
    let final: Attempt | null = null;
    for (const a of connectionAttempts(run)) {
      if (final) report(null, `connection ${a.number} opened ${Math.round(a.at - (final.closedAt ?? final.at))} ms after connection ${final.number} ended for good (${final.final})`);
      else if (a.final) final = a;
    }
  }),
  invariant('client.no-idle-timeout', 'the client keeps the session alive or closes it before the idle timeout (no ih6003)', 'warning', (run, report) => {
    if (run.scriptedErrors.has('ih6003')) return; // the case sends it on purpose
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
  invariant('client.errors-surfaced', 'every error the server sent is surfaced by the client with its code and, for an error about one segment, that segment (an upload error it retried excepted)', 'error', (run, report) => {
    if (!run.observations) return;
    const surfaced = run.observations.filter((o): o is Extract<Observation, { kind: 'error' }> => o.kind === 'error').map((o) => ({ code: o.code, segment: o.segment ?? null }));
    for (const { trace } of run.sessions) {
      for (const { index, event } of events(trace)) {
        if (event.type !== 'error') continue;
        const data = (event.data ?? {}) as { code?: unknown; segment?: unknown };
        const code = String(data.code);
        const segment = typeof data.segment === 'number' ? data.segment : null;
        const exact = surfaced.findIndex((o) => o.code === code && o.segment === segment);
        if (exact >= 0) {
          surfaced.splice(exact, 1);
          continue;
        }
        const sameCode = surfaced.findIndex((o) => o.code === code);
        const what = `error ${code}${segment === null ? ' (no segment)' : ` for segment ${segment}`}`;
        if (sameCode < 0) report(index, `${what} was not surfaced`);
        else {
          const other = surfaced.splice(sameCode, 1)[0]!.segment;
          report(index, `${what} was surfaced ${other === null ? 'without its segment' : `with segment ${other}`}`);
        }
      }
    }
    const upload = finalUploadError(run);
    if (upload && !surfaced.some((o) => o.code === upload.code)) report(null, `upload ${upload.exchange.number}'s answer ${upload.code} was not surfaced`);
  }),
  invariant('client.authenticates', 'every upgrade and upload carries the key as the API reads it ("Authorization: Bearer <key>", or the WebSocket subprotocol): none is refused with ih2001 or ih2002 (unless the case gives a revoked key)', 'error', (run, report) => {
    run.refusedUpgrades.forEach((r, i) => {
      if (r.code !== null && run.scriptedErrors.has(r.code)) return;
      if (r.status === 401 || (r.code !== null && AUTH_CODES.has(r.code))) report(null, `upgrade ${i + 1} was refused with ${r.status}${r.code ? ` ${r.code}` : ''}: ${credentialProblem(r, true)}`);
    });
    for (const e of run.uploads) {
      if (e.answer.kind !== 'answered' || e.answer.code === null || !AUTH_CODES.has(e.answer.code) || run.scriptedErrors.has(e.answer.code)) continue;
      report(null, `upload ${e.number} was refused with ${e.answer.status} ${e.answer.code}: ${credentialProblem(e, false)}`);
    }
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
        (value['kind'] === 'error' && typeof value['code'] === 'string' && (value['segment'] === undefined || value['segment'] === null || Number.isInteger(value['segment']))) ||
        (value['kind'] === 'spans' && Array.isArray(value['spans']));
      out.push(ok ? (value as Observation) : { kind: 'invalid', line: i + 1, text: line });
    } catch {
      out.push({ kind: 'invalid', line: i + 1, text: line });
    }
  });
  return out;
}

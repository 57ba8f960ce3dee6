/**
 * Protocol invariants as pure functions over a trace (docs/protocol.md §3). Each has a stable id, a
 * one-line statement and a severity; `check(trace)` returns the violations, each naming the frame
 * that broke it. Server invariants audit what a server sent (ih-mock itself, the live service
 * through a recording, any server the kit drove).
 *
 * Conventions: frames are numbered from 0 in trace order (both directions); a violation's `frame`
 * is the index of the offending frame, or null when the trace as a whole is at fault (something
 * missing). Unknown event types are checked only for the shared envelope (clients must ignore them).
 */
import { envelopeMediaTime } from '../server/analysis/events.js';
import { QUALITY_DIMENSIONS } from '../server/analysis/quality.js';
import { ERROR_CODES } from '../server/errors.js';
import { validateAnyServerEvent, formatDiagnostics, isKnownEventType } from '../server/validation.js';
import type { ParsedEvent, Trace, TraceFrame } from './trace.js';

export type Severity = 'error' | 'warning';

export interface Violation {
  invariant: string;
  /** Index of the frame that broke it, or null. */
  frame: number | null;
  message: string;
}

/** A rule over some input (a trace for the server, a whole client run for the client). */
export interface Rule<Input> {
  /** Stable id, e.g. `server.ready-first`. */
  id: string;
  /** One line: what must hold. */
  statement: string;
  severity: Severity;
  check(input: Input): Violation[];
}

/** A server invariant: a rule over one connection's trace. */
export type Invariant = Rule<Trace>;

/** Build a rule from a function that reports each violation it finds. */
export function rule<Input>(id: string, statement: string, severity: Severity, find: (input: Input, report: (frame: number | null, message: string) => void) => void): Rule<Input> {
  return {
    id,
    statement,
    severity,
    check(input) {
      const violations: Violation[] = [];
      find(input, (frame, message) => violations.push({ invariant: id, frame, message }));
      return violations;
    },
  };
}

type ServerEventFrame = Extract<TraceFrame, { from: 'server'; kind: 'text' }> & { event: ParsedEvent };

function serverEvents(trace: Trace): ServerEventFrame[] {
  return trace.frames.filter((f): f is ServerEventFrame => f.from === 'server' && f.kind === 'text' && f.event !== null);
}

function data(frame: ServerEventFrame): Record<string, unknown> {
  const d = frame.event.data;
  return d !== null && typeof d === 'object' ? (d as Record<string, unknown>) : {};
}

/** The media time an event reports, for ordering (docs/protocol.md §3.1): the emulator's own rule. */
function mediaTime(frame: ServerEventFrame): number | null {
  return envelopeMediaTime(frame.event.type, frame.event.data);
}

const invariant = (id: string, statement: string, severity: Severity, find: (trace: Trace, report: (frame: number | null, message: string) => void) => void): Invariant => rule(id, statement, severity, find);

function qualityProblem(scores: unknown): string | null {
  if (scores === null || typeof scores !== 'object') return 'scores are not an object';
  const s = scores as Record<string, unknown>;
  for (const key of ['quality_index', ...QUALITY_DIMENSIONS]) {
    const v = s[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 100) return `${key} is ${JSON.stringify(v)}, not an integer 0-100`;
  }
  const mean = QUALITY_DIMENSIONS.reduce((sum, k) => sum + (s[k] as number), 0) / 5;
  if (Math.abs((s['quality_index'] as number) - mean) > 0.5 + 1e-9) return `quality_index ${String(s['quality_index'])} is not the mean of the five dimensions (${mean})`;
  return null;
}

export const SERVER_INVARIANTS: readonly Invariant[] = [
  invariant('server.ready-first', 'session.ready is the first server frame and is sent exactly once (unless the session is refused with an error first)', 'error', (trace, report) => {
    const events = serverEvents(trace);
    const readies = events.filter((f) => f.event.type === 'session.ready');
    if (readies.length > 1) report(readies[1]!.index, `a second session.ready (the first was frame ${readies[0]!.index})`);
    const first = events[0];
    if (!first) return;
    if (first.event.type !== 'session.ready' && !(first.event.type === 'error' && readies.length === 0)) report(first.index, `the first server frame is ${first.event.type}, not session.ready`);
  }),
  invariant('server.schema', 'every server frame is a text envelope valid against schemas/ (unknown types: the shared envelope)', 'error', (trace, report) => {
    for (const f of trace.frames) {
      if (f.from !== 'server') continue;
      if (f.kind === 'binary') report(f.index, 'the server sent a binary frame');
      if (f.kind !== 'text') continue;
      if (f.event === null) {
        report(f.index, `not a JSON envelope: ${f.text.slice(0, 80)}`);
        continue;
      }
      const result = validateAnyServerEvent(f.event);
      if (!result.ok) report(f.index, `${f.event.type}: ${formatDiagnostics(result.errors).split('\n').join('; ')}`);
    }
  }),
  invariant('server.updated-per-config', 'each config frame is answered, in order, by one session.updated (valid) or error ih6001 (invalid); no session.updated answers nothing', 'error', (trace, report) => {
    // Counted, not paired: an ih6001 may also be scripted (a fault) or answer a frame sent after
    // session.close, so it cannot be matched to one frame; a session.updated always answers one.
    let configs = 0;
    let updates = 0;
    let rejections = 0;
    let lastConfig: number | null = null;
    for (const f of trace.frames) {
      if (f.from === 'client' && f.kind === 'text') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(f.text);
        } catch {
          parsed = undefined;
        }
        if ((parsed as { type?: unknown } | undefined)?.type === 'session.close') continue;
        configs++;
        lastConfig = f.index;
      } else if (f.from === 'server' && f.kind === 'text' && f.event) {
        if (f.event.type === 'session.updated' && ++updates > configs) report(f.index, 'session.updated with no config frame to answer');
        if (f.event.type === 'error' && (f.event.data as { code?: unknown } | undefined)?.code === 'ih6001') rejections++;
      }
    }
    // Only a graceful end promises every answer: a close or a drop may cut them short.
    const gracefulEnd = trace.frames.some((f) => f.from === 'server' && f.kind === 'text' && f.event?.type === 'session.ended');
    const unanswered = configs - updates - rejections;
    if (unanswered > 0 && gracefulEnd) report(lastConfig, `${unanswered} config frame(s) never answered before session.ended`);
  }),
  invariant('server.signal-lifecycle', 'per signal type: detected, then updated*, then ended; no double detect, no update or end of an inactive type, updated keeps the detected start', 'error', (trace, report) => {
    const active = new Map<string, number>();
    for (const f of serverEvents(trace)) {
      const d = data(f);
      const type = String(d['signal_type']);
      if (f.event.type === 'signal.detected') {
        if (active.has(type)) report(f.index, `${type} detected again while active (since ${active.get(type)})`);
        active.set(type, d['start'] as number);
      } else if (f.event.type === 'signal.updated') {
        if (!active.has(type)) report(f.index, `${type} updated while not active`);
        else if (d['start'] !== active.get(type)) report(f.index, `${type} updated with start ${String(d['start'])}, detected with ${active.get(type)}`);
      } else if (f.event.type === 'signal.ended') {
        if (!active.has(type)) report(f.index, `${type} ended while not active`);
        else if (typeof d['end'] === 'number' && d['end'] < active.get(type)!) report(f.index, `${type} ended at ${d['end']}, before its start ${active.get(type)}`);
        active.delete(type);
      }
    }
  }),
  invariant('server.signals-end-before-session-ended', 'after a graceful close every detected signal has ended before session.ended', 'error', (trace, report) => {
    const active = new Set<string>();
    for (const f of serverEvents(trace)) {
      const type = String(data(f)['signal_type']);
      if (f.event.type === 'signal.detected') active.add(type);
      if (f.event.type === 'signal.ended') active.delete(type);
      if (f.event.type === 'session.ended' && active.size > 0) report(f.index, `session.ended while ${[...active].sort().join(', ')} still active`);
    }
  }),
  invariant('server.media-time-order', 'event media times (detected start, ended end, engagement start) never go backwards', 'error', (trace, report) => {
    let last = -Infinity;
    let lastFrame = -1;
    for (const f of serverEvents(trace)) {
      const t = mediaTime(f);
      if (t === null) continue;
      if (t < last) report(f.index, `${f.event.type} at ${t} s after an event at ${last} s (frame ${lastFrame})`);
      else {
        last = t;
        lastFrame = f.index;
      }
    }
  }),
  invariant('server.engagement-on-change', 'engagement.updated only when the state changes', 'warning', (trace, report) => {
    let state: unknown;
    for (const f of serverEvents(trace)) {
      if (f.event.type !== 'engagement.updated') continue;
      const next = data(f)['state'];
      if (next === state) report(f.index, `engagement.updated repeats the state ${String(next)}`);
      state = next;
    }
  }),
  invariant('server.quality', 'conversation_quality.updated only when opted in (overall / timeline as asked), scores integers 0-100 with quality_index the mean, timeline periods contiguous', 'error', (trace, report) => {
    // The include in force is what the server acknowledged (session.updated), not what the client asked.
    let include: string[] = [];
    let periodEnd: number | null = null;
    for (const f of trace.frames) {
      if (f.from === 'server' && f.kind === 'text' && f.event?.type === 'session.updated') {
        const acknowledged = (f.event.data as { include?: unknown } | undefined)?.include;
        include = Array.isArray(acknowledged) ? acknowledged.filter((v): v is string => typeof v === 'string') : [];
        continue;
      }
      if (!(f.from === 'server' && f.kind === 'text' && f.event?.type === 'conversation_quality.updated')) continue;
      const d = (f.event.data ?? {}) as { overall?: unknown; timeline?: unknown };
      const wantsOverall = include.includes('conversation_quality_overall');
      const wantsTimeline = include.includes('conversation_quality_timeline');
      if (!wantsOverall && !wantsTimeline) report(f.index, 'conversation_quality.updated although the client did not opt in');
      if ((d.overall !== undefined) !== wantsOverall) report(f.index, `overall ${d.overall === undefined ? 'missing although' : 'present although not'} asked for`);
      if ((d.timeline !== undefined) !== wantsTimeline) report(f.index, `timeline ${d.timeline === undefined ? 'missing although' : 'present although not'} asked for`);
      if (d.overall !== undefined) {
        const problem = qualityProblem(d.overall);
        if (problem) report(f.index, `overall: ${problem}`);
      }
      if (Array.isArray(d.timeline)) {
        for (const entry of d.timeline as { start?: unknown; end?: unknown; values?: unknown }[]) {
          const problem = qualityProblem(entry.values);
          if (problem) report(f.index, `timeline [${String(entry.start)}, ${String(entry.end)}): ${problem}`);
          if (typeof entry.start === 'number' && periodEnd !== null && Math.abs(entry.start - periodEnd) > 1e-9) report(f.index, `timeline period starts at ${entry.start}, the previous one ended at ${periodEnd}`);
          if (typeof entry.end === 'number') periodEnd = entry.end;
        }
      }
    }
  }),
  invariant('server.error-codes', 'error codes come from the table, with segment null or the 1-based index of a segment the client sent', 'error', (trace, report) => {
    let segments = 0;
    for (const f of trace.frames) {
      if (f.from === 'client' && f.kind === 'binary') segments++;
      if (!(f.from === 'server' && f.kind === 'text' && f.event?.type === 'error')) continue;
      const d = (f.event.data ?? {}) as { code?: unknown; segment?: unknown };
      if (!(ERROR_CODES as readonly unknown[]).includes(d.code)) report(f.index, `unknown error code ${JSON.stringify(d.code)}`);
      if (d.segment !== null && !(typeof d.segment === 'number' && Number.isInteger(d.segment) && d.segment >= 1 && d.segment <= segments)) report(f.index, `segment ${JSON.stringify(d.segment)} but the client had sent ${segments} segment(s)`);
    }
  }),
  invariant('server.nothing-after-end', 'nothing is sent after session.ended or after the server closed the connection', 'error', (trace, report) => {
    // After a client-initiated close the server may still have frames in flight: not a violation.
    let ended: string | null = null;
    for (const f of trace.frames) {
      if (f.from === 'server' && f.kind !== 'close' && ended) report(f.index, `a server frame after ${ended}`);
      if (f.from === 'server' && f.kind === 'text' && f.event?.type === 'session.ended') ended ??= `session.ended (frame ${f.index})`;
      if (f.kind === 'close' && f.from === 'server') ended ??= `the server's close (frame ${f.index})`;
    }
  }),
  invariant('server.correlation-id', 'every envelope carries one correlation_id, equal to the upgrade response X-Correlation-ID', 'error', (trace, report) => {
    let id: unknown = trace.upgradeCorrelationId ?? undefined;
    for (const f of serverEvents(trace)) {
      if (id === undefined) id = f.event.correlation_id;
      else if (f.event.correlation_id !== id) report(f.index, `correlation_id ${JSON.stringify(f.event.correlation_id)}, expected ${JSON.stringify(id)}`);
    }
  }),
  invariant('server.unknown-types', 'event types outside v1 are reported for information (clients must ignore them)', 'warning', (trace, report) => {
    for (const f of serverEvents(trace)) if (!isKnownEventType(f.event.type)) report(f.index, `event type ${f.event.type} is not part of v1`);
  }),
];

export interface CheckResult {
  source: string;
  violations: Violation[];
  /** Invariants checked, by id, with their severity. */
  checked: { id: string; severity: Severity }[];
}

/** Apply `invariants` (default: every server invariant) to a trace. */
export function checkTrace(trace: Trace, invariants: readonly Invariant[] = SERVER_INVARIANTS): CheckResult {
  return {
    source: trace.source,
    violations: invariants.flatMap((inv) => inv.check(trace)),
    checked: invariants.map((inv) => ({ id: inv.id, severity: inv.severity })),
  };
}

/** The severity of an invariant id (for reports and exit codes). */
export function severityOf(id: string, invariants: readonly { id: string; severity: Severity }[] = SERVER_INVARIANTS): Severity {
  return invariants.find((inv) => inv.id === id)?.severity ?? 'error';
}

/**
 * The server invariants on recordings of ih-mock sessions (they must pass) and on hand-broken copies
 * of them (each break must be reported by the right invariant, at the right frame).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../server/paths.js';
import { readRecording } from '../server/record/reader.js';
import { checkTrace, SERVER_INVARIANTS } from './invariants.js';
import { parseEvent, tracesFromRecording, type Trace, type TraceFrame } from './trace.js';

const EXAMPLES = ['ih-mock-steady-session.jsonl', 'ih-mock-overloaded-session.jsonl'].map((f) => join(PACKAGE_ROOT, 'recordings', f));

function steadyTrace(): Trace {
  return tracesFromRecording(readRecording(EXAMPLES[0]!))[0]!;
}

/** The index of the n-th (0-based) server event of `type`. */
function at(trace: Trace, type: string, n = 0): number {
  const hits = trace.frames.filter((f) => f.from === 'server' && f.kind === 'text' && f.event?.type === type);
  return hits[n]!.index;
}

/** A copy of `trace` with frame `index` replaced by `frame` (its event re-parsed), or removed. */
function edit(trace: Trace, index: number, change: (text: string) => string | null): Trace {
  const frames: TraceFrame[] = [];
  for (const f of trace.frames) {
    if (f.index !== index || f.from !== 'server' || f.kind !== 'text') {
      frames.push({ ...f, index: frames.length } as TraceFrame);
      continue;
    }
    const text = change(f.text);
    if (text !== null) frames.push({ ...f, index: frames.length, text, event: parseEvent(text) });
  }
  return { ...trace, frames };
}

const mutate = (fn: (event: any) => void) => (text: string) => {
  const event = JSON.parse(text);
  fn(event);
  return JSON.stringify(event);
};

/** A copy of `trace` with a server text frame inserted before frame `index`. */
function insert(trace: Trace, index: number, text: string): Trace {
  const at = trace.frames[index]!;
  const added = { index, t: at.t, from: 'server', kind: 'text', text, event: parseEvent(text) } as TraceFrame;
  return { ...trace, frames: [...trace.frames.slice(0, index), added, ...trace.frames.slice(index).map((f) => ({ ...f, index: f.index + 1 }) as TraceFrame)] };
}

const violated = (trace: Trace) => checkTrace(trace).violations.map((v) => `${v.invariant}@${v.frame}`);

describe('server invariants', () => {
  it('have stable, distinct ids, each with a statement', () => {
    const ids = SERVER_INVARIANTS.map((i) => i.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const inv of SERVER_INVARIANTS) expect(inv.statement.length).toBeGreaterThan(20);
  });

  it.each(EXAMPLES)('pass on the ih-mock recording %s', (file) => {
    for (const trace of tracesFromRecording(readRecording(file))) expect(checkTrace(trace).violations).toEqual([]);
  });

  it('a second session.ready', () => {
    const trace = steadyTrace();
    const i = at(trace, 'signal.detected');
    expect(violated(edit(trace, i, mutate((e) => (e.type = 'session.ready'))))).toContain(`server.ready-first@${i}`);
  });

  it('a time that goes backwards', () => {
    const trace = steadyTrace();
    const i = at(trace, 'engagement.updated', 1);
    expect(violated(edit(trace, i, mutate((e) => (e.data.start = 1))))).toContain(`server.media-time-order@${i}`);
  });

  it('a signal never ended before session.ended', () => {
    const trace = steadyTrace();
    const ended = at(trace, 'signal.ended', 1);
    const broken = edit(trace, ended, () => null);
    expect(violated(broken)).toContain(`server.signals-end-before-session-ended@${at(broken, 'session.ended')}`);
  });

  it('a data.signals[] array instead of the flat fields, and an unknown error code', () => {
    const trace = steadyTrace();
    const i = at(trace, 'signal.detected');
    const flat = edit(trace, i, mutate((e) => (e.data = { signals: [e.data] })));
    expect(violated(flat)).toEqual(expect.arrayContaining([`server.schema@${i}`]));
    const err = edit(trace, i, mutate((e) => ((e.type = 'error'), (e.data = { code: 'ih9999', message: 'x', link: 'y', segment: 99 }))));
    expect(violated(err)).toEqual(expect.arrayContaining([`server.error-codes@${i}`]));
  });

  it('a quality index that is not the mean, and a frame after session.ended', () => {
    const trace = steadyTrace();
    const q = at(trace, 'conversation_quality.updated');
    expect(violated(edit(trace, q, mutate((e) => (e.data.overall.quality_index = 99))))).toContain(`server.quality@${q}`);
    const endedAt = at(trace, 'session.ended');
    const extra: Trace = { ...trace, frames: [...trace.frames.slice(0, endedAt + 1), { ...(trace.frames[q] as TraceFrame), index: endedAt + 1 }, ...trace.frames.slice(endedAt + 1).map((f) => ({ ...f, index: f.index + 1 }) as TraceFrame)] };
    expect(violated(extra)).toContain(`server.nothing-after-end@${endedAt + 1}`);
  });

  it('session.updated answering no config frame, and a config frame left unanswered at session.ended', () => {
    const trace = steadyTrace();
    const i = at(trace, 'signal.detected');
    expect(violated(edit(trace, i, mutate((e) => ((e.type = 'session.updated'), (e.data = { include: [], goal_dimensions: null })))))).toContain(`server.updated-per-config@${i}`);
    const config = trace.frames.find((f) => f.from === 'client' && f.kind === 'text')!.index;
    expect(violated(edit(trace, at(trace, 'session.updated'), () => null))).toContain(`server.updated-per-config@${config}`);
  });

  it('a scripted ih6001 (a fault) arriving while a config frame waits for its answer is no server bug', () => {
    const trace = steadyTrace();
    const updated = at(trace, 'session.updated');
    const error = JSON.stringify({ type: 'error', timestamp: '2026-06-20T15:21:55.149561Z', correlation_id: trace.upgradeCorrelationId, data: { code: 'ih6001', message: 'Invalid session config frame.', link: 'https://docs.interhuman.ai/api-reference/error-handling#ih6001-invalid-session-config', segment: null } });
    expect(violated(insert(trace, updated, error)).filter((v) => v.startsWith('server.updated-per-config'))).toEqual([]);
  });

  it('a correlation id that changes, and engagement repeated without a change', () => {
    const trace = steadyTrace();
    const i = at(trace, 'signal.ended');
    expect(violated(edit(trace, i, mutate((e) => (e.correlation_id = '00000000-0000-4000-8000-000000000000'))))).toContain(`server.correlation-id@${i}`);
    const e2 = at(trace, 'engagement.updated', 1);
    expect(violated(edit(trace, e2, mutate((e) => (e.data.state = 'engaged'))))).toContain(`server.engagement-on-change@${e2}`);
  });
});

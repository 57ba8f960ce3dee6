import { describe, expect, it } from 'vitest';
import { Journal, type JournalListener } from './journal.js';

/** Record a frame entry of session `session` with type `type`. */
function frame(journal: Journal, session: string, type: string, testId: string | null = null): number {
  return journal.record(0, 'frame', session, testId, 'out', type, type === 'error' ? 'ih5004' : null, null, 10, null, null, null, null, null, null);
}

describe('Journal', () => {
  it('numbers entries from 1, evicts the oldest when full and counts them; seq stays a cursor across evictions', () => {
    const journal = new Journal(3);
    for (let i = 1; i <= 5; i++) frame(journal, 's', `t${i}`);
    expect(journal.size).toBe(3);
    expect(journal.recorded).toBe(5);
    expect(journal.evicted).toBe(2);
    expect(journal.oldestSeq).toBe(3);
    expect(journal.read({}, 0, 10).entries.map((e) => e.type)).toEqual(['t3', 't4', 't5']);
    expect(journal.read({}, 3, 10).entries.map((e) => e.seq)).toEqual([4, 5]);
    expect(journal.read({}, 5, 10).entries).toEqual([]);
    expect(journal.read({}, 0, 2)).toMatchObject({ more: true, entries: [{ seq: 3 }, { seq: 4 }] });
  });

  it('filters by session, scope, direction, type, code and signal type', () => {
    const journal = new Journal(100);
    frame(journal, 'a', 'signal.detected', 'test-1');
    frame(journal, 'b', 'error', 'test-2');
    journal.record(0, 'frame', 'a', 'test-1', 'in', 'binary', null, null, 5, 1, 4, 4, 'accepted', null, null);
    journal.record(0, 'frame', 'a', 'test-1', 'out', 'signal.ended', null, 'agreement', 5, null, null, null, null, null, null);
    const types = (f: Parameters<Journal['read']>[0]) => journal.read(f, 0, 100).entries.map((e) => e.type);
    expect(types({ session: 'a' })).toEqual(['signal.detected', 'binary', 'signal.ended']);
    expect(types({ testId: 'test-2' })).toEqual(['error']);
    expect(types({ direction: 'in' })).toEqual(['binary']);
    expect(types({ type: ['error', 'binary'] })).toEqual(['error', 'binary']);
    expect(types({ code: ['ih5004'] })).toEqual(['error']);
    expect(types({ signalType: ['agreement'], session: 'a' })).toEqual(['signal.ended']);
    expect(types({ kind: ['session'] })).toEqual([]);
  });

  it('clears one scope in place (seq still maps to slots) or everything; cleared entries are not counted as evicted', () => {
    const journal = new Journal(4);
    frame(journal, 'a', 'x', 'keep');
    frame(journal, 'b', 'y', 'drop');
    frame(journal, 'c', 'z', 'keep');
    expect(journal.clear({ testId: 'drop' })).toBe(1);
    expect(journal.read({}, 0, 10).entries.map((e) => e.type)).toEqual(['x', 'z']);
    frame(journal, 'd', 'w');
    frame(journal, 'e', 'v'); // evicts x (counted)
    frame(journal, 'f', 'u'); // evicts the cleared y (not counted)
    expect(journal.evicted).toBe(1);
    expect(journal.read({}, 0, 10).entries.map((e) => e.type)).toEqual(['z', 'w', 'v', 'u']);
    expect(journal.clear({})).toBe(4);
    expect(journal.size).toBe(0);
    expect(frame(journal, 'g', 't')).toBe(7);
    expect(journal.read({}, 0, 10).entries.map((e) => [e.seq, e.type])).toEqual([[7, 't']]);
  });

  it('records nothing with capacity 0', () => {
    const journal = new Journal(0);
    expect(journal.enabled).toBe(false);
    expect(frame(journal, 'a', 'x')).toBe(0);
    expect(journal.recorded).toBe(0);
  });

  it('gives a listener what was already recorded after its cursor at once, later entries once per turn after they are complete', async () => {
    const journal = new Journal(10);
    frame(journal, 'a', 'early');
    const got: string[] = [];
    const listener: JournalListener = { filter: { session: 'a' }, cursor: 0, deliver: (e) => (got.push(`${e.type}:${e.verdict ?? '-'}`), true) };
    journal.listen(listener);
    expect(got).toEqual(['early:-']);
    // An in frame is recorded first and completed later in the same turn: the listener sees it complete.
    const pending = journal.record(0, 'frame', 'a', null, 'in', 'binary', null, null, 5, 1, null, null, null, null, null);
    frame(journal, 'b', 'other session');
    journal.complete(pending, 'binary', 'accepted', null, 4, 4);
    expect(got).toEqual(['early:-']);
    await Promise.resolve();
    expect(got).toEqual(['early:-', 'binary:accepted']);
    expect(listener.cursor).toBe(3);
    journal.unlisten(listener);
    frame(journal, 'a', 'late');
    await Promise.resolve();
    expect(got).toHaveLength(2);
  });

  it('stops a listener whose deliver returns false (a long-poll takes one entry)', async () => {
    const journal = new Journal(10);
    const taken: number[] = [];
    journal.listen({ filter: {}, cursor: 0, deliver: (e) => (taken.push(e.seq), false) });
    frame(journal, 'a', 'x');
    frame(journal, 'a', 'y');
    await Promise.resolve();
    expect(taken).toEqual([1]);
    expect(journal.listenerCount).toBe(0);
  });

  it('serialises an out frame from the text it was sent as: its envelope, its size in bytes and the media time its event reports', () => {
    const journal = new Journal(10);
    const event = { timestamp: '2026-01-01T00:00:00.000000Z', correlation_id: 'c', type: 'signal.ended', data: { signal_type: 'agreement', start: 0, end: 12.5, rationale: 'é' } };
    const text = JSON.stringify(event);
    journal.record(0, 'frame', 'c', null, 'out', event.type, null, 'agreement', null, null, null, null, null, text, null);
    const [entry] = journal.read({}, 0, 10).entries;
    expect(entry!.event).toEqual(event);
    expect(entry!.toJSON()).toMatchObject({ seq: 1, time: '1970-01-01T00:00:00.000000Z', media_time: 12.5, bytes: text.length + 1, event, detail: null });
  });

  it('completes an in frame only while it is held, and keeps recording nothing when off', () => {
    const journal = new Journal(2);
    const first = journal.record(0, 'frame', 'a', null, 'in', 'binary', null, null, 5, 1, null, null, null, null, null);
    journal.complete(first, 'binary', 'rejected', 'ih5004', null, 0);
    expect(journal.read({}, 0, 10).entries[0]).toMatchObject({ seq: 1, verdict: 'rejected', code: 'ih5004', mediaEnd: null, mediaSeconds: 0, bytes: 5, segment: 1 });
    frame(journal, 'a', 'x');
    frame(journal, 'a', 'y'); // evicts entry 1
    journal.complete(first, 'binary', 'accepted', null, 9, 9);
    expect(journal.read({}, 0, 10).entries.map((e) => [e.seq, e.verdict])).toEqual([[2, null], [3, null]]);
    const off = new Journal(0);
    expect(off.record(0, 'frame', 'a', null, 'in', 'binary', null, null, 5, 1, null, null, null, null, null)).toBe(0);
    off.complete(0, 'binary', 'accepted', null, 1, 1);
    expect(off.read({}, 0, 10).entries).toEqual([]);
  });
});

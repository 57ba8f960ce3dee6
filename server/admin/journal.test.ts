import { describe, expect, it } from 'vitest';
import { Journal, type JournalEntry, type JournalListener } from './journal.js';

/** Record a frame entry of session `session` with type `type`. */
function frame(journal: Journal, session: string, type: string, testId: string | null = null): JournalEntry | null {
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
    expect(frame(journal, 'g', 't')!.seq).toBe(7);
  });

  it('records nothing with capacity 0', () => {
    const journal = new Journal(0);
    expect(journal.enabled).toBe(false);
    expect(frame(journal, 'a', 'x')).toBeNull();
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
    const pending = journal.record(0, 'frame', 'a', null, 'in', 'binary', null, null, 5, 1, null, null, null, null, null)!;
    frame(journal, 'b', 'other session');
    pending.verdict = 'accepted';
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

  it('serialises an out frame with the media time its event reports, from the envelope it references', () => {
    const journal = new Journal(10);
    const event = { type: 'signal.ended', timestamp: '2026-01-01T00:00:00.000000Z', correlation_id: 'c', data: { signal_type: 'agreement', start: 0, end: 12.5 } };
    const entry = journal.record(0, 'frame', 'c', null, 'out', event.type, null, 'agreement', 99, null, null, null, null, event, null)!;
    expect(entry.event).toBe(event); // a reference, not a copy
    expect(entry.toJSON()).toMatchObject({ seq: 1, time: '1970-01-01T00:00:00.000000Z', media_time: 12.5, event, detail: null });
  });
});

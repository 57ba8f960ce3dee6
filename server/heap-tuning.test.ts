import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HEAP_TUNING_BELOW_SESSIONS, HEAP_TUNING_FROM_SESSIONS, SERVING_HEAP_GROWING_PERCENT, ServingHeapTuning } from './heap-tuning.js';

/** A tuning that records the flags it would hand V8, with node started on `execArgv`. */
function tuning(execArgv: string[] = []) {
  const set: string[] = [];
  return { set, tuning: new ServingHeapTuning({ execArgv, setFlags: (flag) => set.push(flag) }) };
}

describe('ServingHeapTuning', () => {
  it('sets the serving factor from the threshold, keeps it down to the lower one, then gives it back to V8', () => {
    const { set, tuning: t } = tuning(['--expose-gc', '--max-old-space-size=4096']);
    const counts = [1, HEAP_TUNING_FROM_SESSIONS - 1, HEAP_TUNING_FROM_SESSIONS, HEAP_TUNING_FROM_SESSIONS + 1, HEAP_TUNING_BELOW_SESSIONS, HEAP_TUNING_BELOW_SESSIONS - 1, 0, HEAP_TUNING_FROM_SESSIONS];
    const changes = counts.map((n) => t.sessionsOpen(n));
    const on = `--heap-growing-percent=${SERVING_HEAP_GROWING_PERCENT}`;
    expect(changes).toEqual([undefined, undefined, on, undefined, undefined, '--heap-growing-percent=0', undefined, on]);
    expect(set).toEqual([on, '--heap-growing-percent=0', on]);
    expect(t.active).toBe(true);
    expect(t.describe()).toBe(`${SERVING_HEAP_GROWING_PERCENT} % from ${HEAP_TUNING_FROM_SESSIONS} open sessions, V8's own below ${HEAP_TUNING_BELOW_SESSIONS}`);
  });

  it.each([['--heap-growing-percent=30'], ['--heap_growing_percent=0']])('never sets the flag when node was started with %s', (flag) => {
    const { set, tuning: t } = tuning(['--expose-gc', flag]);
    expect([HEAP_TUNING_FROM_SESSIONS, 5000, 0].map((n) => t.sessionsOpen(n))).toEqual([undefined, undefined, undefined]);
    expect(set).toEqual([]);
    expect(t.describe()).toBe(`left as node was started (${flag})`);
  });

  it('the "off" threshold defaults to at most the "on" one, and may not exceed it', () => {
    expect(new ServingHeapTuning({ execArgv: [], fromSessions: 100 }).belowSessions).toBe(100);
    expect(() => new ServingHeapTuning({ execArgv: [], fromSessions: 100, belowSessions: 101 })).toThrow(RangeError);
  });

  it('stops trying once V8 refuses the flag (the server logs that once)', () => {
    let calls = 0;
    const t = new ServingHeapTuning({ execArgv: [], fromSessions: 2, belowSessions: 1, setFlags: () => {
      calls++;
      throw new Error('refused');
    } });
    expect(() => t.sessionsOpen(2)).toThrow('refused');
    expect([3, 0, 2].map((n) => t.sessionsOpen(n))).toEqual([undefined, undefined, undefined]);
    expect(calls).toBe(1);
    expect(t.active).toBe(false);
  });

  it("this node's V8 knows the flag: set at run time, it warns of nothing (an unknown one does)", () => {
    const run = (flag: string) => spawnSync(process.execPath, ['-e', `require('node:v8').setFlagsFromString(${JSON.stringify(flag)})`], { encoding: 'utf8' });
    for (const flag of [`--heap-growing-percent=${SERVING_HEAP_GROWING_PERCENT}`, '--heap-growing-percent=0']) {
      const ok = run(flag);
      expect({ status: ok.status, stderr: ok.stderr }).toEqual({ status: 0, stderr: '' });
    }
    expect(run('--heap-growing-percentx=1').stderr).toMatch(/unrecognized flag|heap-growing-percentx/i);
  });

  it('does not mistake a longer flag for it', () => {
    const { tuning: t } = tuning(['--heap-growing-percentage=5']);
    expect(t.nodeFlag).toBeUndefined();
  });
});

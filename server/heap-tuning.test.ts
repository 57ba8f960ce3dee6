import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  CROWDED_BELOW_SESSIONS,
  CROWDED_FROM_SESSIONS,
  CROWDED_HEAP_GROWING_PERCENT,
  HEAP_TUNING_BELOW_SESSIONS,
  HEAP_TUNING_FROM_SESSIONS,
  HELPER_THREAD_NICE,
  SERVING_HEAP_GROWING_PERCENT,
  ServingHeapTuning,
} from './heap-tuning.js';

/** A tuning that records the flags it would hand V8 and the threads it would lower, with node started on `execArgv`. */
function tuning(execArgv: string[] = [], threads: number[] = [11, 12]) {
  const set: string[] = [];
  const lowered: Array<[number, number]> = [];
  const t = new ServingHeapTuning({ execArgv, setFlags: (flag) => set.push(flag), helperThreads: () => threads, setThreadPriority: (id, nice) => lowered.push([id, nice]) });
  return { set, lowered, tuning: t };
}

const THREADS = `helper threads at nice ${HELPER_THREAD_NICE} from ${HEAP_TUNING_FROM_SESSIONS} open sessions`;

describe('ServingHeapTuning', () => {
  it('sets the serving factor from the threshold, keeps it down to the lower one, then gives it back to V8; lowers the helper threads once', () => {
    const { set, lowered, tuning: t } = tuning(['--expose-gc', '--max-old-space-size=4096']);
    const counts = [1, HEAP_TUNING_FROM_SESSIONS - 1, HEAP_TUNING_FROM_SESSIONS, HEAP_TUNING_FROM_SESSIONS + 1, HEAP_TUNING_BELOW_SESSIONS, HEAP_TUNING_BELOW_SESSIONS - 1, 0, HEAP_TUNING_FROM_SESSIONS];
    const changes = counts.map((n) => t.sessionsOpen(n));
    const on = `--heap-growing-percent=${SERVING_HEAP_GROWING_PERCENT}`;
    const off = '--heap-growing-percent=0';
    const first = { flag: on, helperThreads: { lowered: 2, nice: HELPER_THREAD_NICE } };
    expect(changes).toEqual([undefined, undefined, first, undefined, undefined, { flag: off }, undefined, { flag: on }]);
    expect(set).toEqual([on, off, on]);
    expect(lowered).toEqual([[11, HELPER_THREAD_NICE], [12, HELPER_THREAD_NICE]]);
    expect(t.active).toBe(true);
    expect(t.describe()).toBe(
      `growing ${SERVING_HEAP_GROWING_PERCENT} % from ${HEAP_TUNING_FROM_SESSIONS} open sessions (V8's own below ${HEAP_TUNING_BELOW_SESSIONS}), ` +
        `${CROWDED_HEAP_GROWING_PERCENT} % from ${CROWDED_FROM_SESSIONS} (${SERVING_HEAP_GROWING_PERCENT} % again below ${CROWDED_BELOW_SESSIONS}); ${THREADS}`,
    );
  });

  it('steps to the crowded factor with thousands of sessions and back, each step with its own hysteresis; a jump crosses both', () => {
    const { set, lowered, tuning: t } = tuning();
    const serving = `--heap-growing-percent=${SERVING_HEAP_GROWING_PERCENT}`;
    const crowded = `--heap-growing-percent=${CROWDED_HEAP_GROWING_PERCENT}`;
    const off = '--heap-growing-percent=0';
    const counts = [
      HEAP_TUNING_FROM_SESSIONS, // serving
      CROWDED_FROM_SESSIONS - 1, // still serving
      CROWDED_FROM_SESSIONS, // crowded
      CROWDED_BELOW_SESSIONS, // still crowded (hysteresis)
      CROWDED_BELOW_SESSIONS - 1, // serving again
      CROWDED_FROM_SESSIONS - 1, // still serving
      0, // V8's own
      CROWDED_FROM_SESSIONS + 10, // straight to crowded
      HEAP_TUNING_BELOW_SESSIONS - 1, // straight to V8's own
      CROWDED_BELOW_SESSIONS + 1, // up into the crowded step's band: serving, not crowded
      CROWDED_FROM_SESSIONS, // crowded
      HEAP_TUNING_BELOW_SESSIONS + 1, // down into the first step's band: serving, not V8's own
    ];
    expect(counts.map((n) => t.sessionsOpen(n)?.flag)).toEqual([serving, undefined, crowded, undefined, serving, undefined, off, crowded, off, serving, crowded, serving]);
    expect(set).toEqual([serving, crowded, serving, off, crowded, off, serving, crowded, serving]);
    expect(lowered).toHaveLength(2); // the helper threads once, at the first step
    expect(t.active).toBe(true);
  });

  it('lowers the helper threads to the nice value it is given', () => {
    const lowered: Array<[number, number]> = [];
    const t = new ServingHeapTuning({ execArgv: [], setFlags: () => {}, helperThreads: () => [11, 12], setThreadPriority: (id, nice) => lowered.push([id, nice]), helperThreadNice: 19 });
    expect(t.sessionsOpen(HEAP_TUNING_FROM_SESSIONS)?.helperThreads).toEqual({ lowered: 2, nice: 19 });
    expect(lowered).toEqual([[11, 19], [12, 19]]);
    expect(t.describe()).toMatch(new RegExp(`; helper threads at nice 19 from ${HEAP_TUNING_FROM_SESSIONS} open sessions$`));
  });

  it('leaves the helper threads alone at nice 0, and refuses a nice value outside 0-19', () => {
    const lowered: number[] = [];
    const t = new ServingHeapTuning({ execArgv: [], setFlags: () => {}, helperThreads: () => [11], setThreadPriority: (id) => lowered.push(id), helperThreadNice: 0 });
    expect([HEAP_TUNING_FROM_SESSIONS, CROWDED_FROM_SESSIONS].map((n) => t.sessionsOpen(n))).toEqual([
      { flag: `--heap-growing-percent=${SERVING_HEAP_GROWING_PERCENT}` },
      { flag: `--heap-growing-percent=${CROWDED_HEAP_GROWING_PERCENT}` },
    ]);
    expect(lowered).toEqual([]);
    expect(t.describe()).toMatch(/; helper threads left alone$/);
    for (const nice of [20, -1, 2.5]) expect(() => new ServingHeapTuning({ helperThreadNice: nice })).toThrow(RangeError);
  });

  it.each([['--heap-growing-percent=30'], ['--heap_growing_percent=0']])('never sets the flag when node was started with %s (the helper threads are still lowered)', (flag) => {
    const { set, lowered, tuning: t } = tuning(['--expose-gc', flag], [21]);
    expect([HEAP_TUNING_FROM_SESSIONS, 5000, 0, HEAP_TUNING_FROM_SESSIONS].map((n) => t.sessionsOpen(n))).toEqual([
      { helperThreads: { lowered: 1, nice: HELPER_THREAD_NICE } },
      undefined,
      undefined,
      undefined,
    ]);
    expect(set).toEqual([]);
    expect(lowered).toEqual([[21, HELPER_THREAD_NICE]]);
    expect(t.describe()).toBe(`growing factor left as node was started (${flag}); ${THREADS}`);
  });

  it('skips a helper thread that ended between being listed and being lowered', () => {
    const tried: number[] = [];
    const t = new ServingHeapTuning({ execArgv: [], fromSessions: 1, setFlags: () => {}, helperThreads: () => [5, 6, 7], setThreadPriority: (id) => {
      tried.push(id);
      if (id === 6) throw Object.assign(new Error('no such process'), { code: 'ESRCH' });
    } });
    expect(t.sessionsOpen(1)?.helperThreads).toEqual({ lowered: 2, nice: HELPER_THREAD_NICE });
    expect(tried).toEqual([5, 6, 7]);
  });

  it.runIf(process.platform === 'linux')("in a real node process, lowers every thread but the main one, and only those", () => {
    // A fresh process (this one is a test runner's): the tuning crosses its threshold, then reads
    // each thread's nice value back from the kernel (field 19 of /proc/self/task/<tid>/stat).
    const script = `
      import { readdirSync, readFileSync } from 'node:fs';
      import { ServingHeapTuning } from './server/heap-tuning.ts';
      new ServingHeapTuning({ execArgv: [], fromSessions: 1, setFlags: () => {} }).sessionsOpen(1);
      const nice = (tid) => { const stat = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8'); return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]); };
      const threads = readdirSync('/proc/self/task').map(Number);
      console.log(JSON.stringify({ main: nice(process.pid), helpers: threads.filter((t) => t !== process.pid).map(nice) }));`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const { main, helpers } = JSON.parse(run.stdout) as { main: number; helpers: number[] };
    expect(main).toBe(0);
    // Node starts V8's platform workers (4 by default) and more before any user code runs.
    expect(helpers.length).toBeGreaterThanOrEqual(4);
    expect(new Set(helpers)).toEqual(new Set([HELPER_THREAD_NICE]));
  });

  it('the "off" threshold defaults to at most the "on" one, and may not exceed it; the crowded step comes after the first', () => {
    expect(new ServingHeapTuning({ execArgv: [], fromSessions: 100 }).belowSessions).toBe(100);
    expect(() => new ServingHeapTuning({ execArgv: [], fromSessions: 100, belowSessions: 101 })).toThrow(RangeError);
    // A first step at or above the crowded one's default: no crowded step at all.
    const set: string[] = [];
    const late = new ServingHeapTuning({ execArgv: [], fromSessions: 4000, helperThreads: () => [], setFlags: (flag) => set.push(flag) });
    expect(late.crowdedFromSessions).toBe(Infinity);
    [4000, 10_000, 3999, 0].forEach((n) => late.sessionsOpen(n));
    expect(set).toEqual([`--heap-growing-percent=${SERVING_HEAP_GROWING_PERCENT}`, '--heap-growing-percent=0']);
    expect(() => new ServingHeapTuning({ execArgv: [], fromSessions: 300, crowdedFromSessions: 1000, crowdedBelowSessions: 1001 })).toThrow(RangeError);
    expect(() => new ServingHeapTuning({ execArgv: [], fromSessions: 300, crowdedFromSessions: 1000, crowdedBelowSessions: 250 })).toThrow(RangeError);
    expect(() => new ServingHeapTuning({ execArgv: [], fromSessions: 300, crowdedFromSessions: 300 })).toThrow(RangeError);
  });

  it('stops trying once V8 refuses the flag (the server logs that once)', () => {
    let calls = 0;
    const t = new ServingHeapTuning({ execArgv: [], fromSessions: 2, belowSessions: 1, helperThreads: () => [], setFlags: () => {
      calls++;
      throw new Error('refused');
    } });
    expect(() => t.sessionsOpen(2)).toThrow('refused');
    expect(t.active).toBe(false);
    expect([3, 0, 2].map((n) => t.sessionsOpen(n))).toEqual([undefined, undefined, undefined]);
    expect(calls).toBe(1);
    expect(t.active).toBe(false);
  });

  it('a flag refused at the crowded step leaves the first step in force (V8 still holds it), and stops trying', () => {
    const set: string[] = [];
    const t = new ServingHeapTuning({ execArgv: [], fromSessions: 2, belowSessions: 1, crowdedFromSessions: 4, crowdedBelowSessions: 3, helperThreads: () => [], setFlags: (flag) => {
      if (flag === `--heap-growing-percent=${CROWDED_HEAP_GROWING_PERCENT}`) throw new Error('refused');
      set.push(flag);
    } });
    expect(t.sessionsOpen(2)?.flag).toBe(`--heap-growing-percent=${SERVING_HEAP_GROWING_PERCENT}`);
    expect(() => t.sessionsOpen(4)).toThrow('refused');
    expect(t.active).toBe(true);
    expect([0, 4].map((n) => t.sessionsOpen(n))).toEqual([undefined, undefined]);
    expect(set).toEqual([`--heap-growing-percent=${SERVING_HEAP_GROWING_PERCENT}`]);
  });

  it("this node's V8 knows the flag: set at run time, it warns of nothing (an unknown one does)", () => {
    const run = (flag: string) => spawnSync(process.execPath, ['-e', `require('node:v8').setFlagsFromString(${JSON.stringify(flag)})`], { encoding: 'utf8' });
    for (const flag of [`--heap-growing-percent=${SERVING_HEAP_GROWING_PERCENT}`, `--heap-growing-percent=${CROWDED_HEAP_GROWING_PERCENT}`, '--heap-growing-percent=0']) {
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

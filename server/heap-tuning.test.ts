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

  it('does not mistake a longer flag for it', () => {
    const { tuning: t } = tuning(['--heap-growing-percentage=5']);
    expect(t.nodeFlag).toBeUndefined();
  });
});

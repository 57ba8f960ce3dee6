/**
 * How the bench's control-plane CPU guard pairs and judges its runs (bench/pairs.ts,
 * bench/control-plane.ts): run by run, messages go to the on server first, then to the off server
 * first, and only pairs in which both were in the same garbage-collection state are judged, since a
 * server making mark-compacts spends about twice as much a message whatever its configuration.
 * The runs here are given, not measured: what is checked is the bookkeeping, which decides the
 * row's verdict.
 */
import { describe, expect, it } from 'vitest';
import type { ServerHandle } from '../bench/child-handle.js';
import { controlCpuRows, controlPlaneCpu } from '../bench/control-plane.js';
import type { CpuRun } from '../bench/cpu-guard.js';
import { togetherPairs } from '../bench/pairs.js';

// The pairing code only compares and passes on the handles.
const on = { name: 'on' } as unknown as ServerHandle;
const off = { name: 'off' } as unknown as ServerHandle;
const nameOf = (s: ServerHandle) => (s as unknown as { name: string }).name;

const cpuRun = (micros: number, majorGcs: number): CpuRun => ({ bytes: 1e6, messages: 100, serverMicros: micros * 100, mediaSeconds: 10, errors: 0, majorGcs });

describe('togetherPairs', () => {
  it('alternates which server is sent to first, warms up both orders, and returns results in the servers’ order', async () => {
    const orders: string[] = [];
    const pairs = await togetherPairs(
      [on, off],
      async ([first, second]) => {
        orders.push(`${nameOf(first)},${nameOf(second)}`);
        return [nameOf(first), nameOf(second)] as [string, string];
      },
      4,
      () => {},
      { alternate: true },
    );
    expect(orders).toEqual(['on,off', 'off,on', 'on,off', 'off,on', 'on,off', 'off,on']);
    expect(pairs).toEqual(Array.from({ length: 4 }, () => ['on', 'off']));
  });

  it('keeps one order without alternate', async () => {
    const orders: string[] = [];
    await togetherPairs([on, off], async ([a, b]) => (orders.push(nameOf(a)), [1, 2] as [number, number]), 3, () => {});
    expect(orders).toEqual(['on', 'on', 'on', 'on']);
  });
});

describe('the control plane CPU guard', () => {
  /** Runs the guard over scripted runs: `script[i]` is [on, off] of the i-th run (the first two are warm-ups). */
  const guard = async (script: Array<[CpuRun, CpuRun]>) => {
    let i = 0;
    const [figure] = await controlPlaneCpu([{ media: 'm', label: 'm', frames: [] }], {
      on,
      off,
      run: async (servers) => {
        const [onRun, offRun] = script[i++]!;
        return servers[0] === on ? [onRun, offRun] : [offRun, onRun];
      },
      repetitions: script.length - 2,
      bytesPerRun: 1e6,
      log: () => {},
    });
    return figure!;
  };
  const warmUps: Array<[CpuRun, CpuRun]> = [
    [cpuRun(1, 0), cpuRun(1, 0)],
    [cpuRun(1, 0), cpuRun(1, 0)],
  ];

  it('judges only the pairs where both servers were in the same GC state, and counts the others each way', async () => {
    const sameState = Array.from({ length: 7 }, (_, k): [CpuRun, CpuRun] => (k < 4 ? [cpuRun(102, 0), cpuRun(100, 0)] : [cpuRun(205, 6), cpuRun(200, 5)]));
    // The off server alone compacting costs it about twice as much a message.
    const offAlone = Array.from({ length: 4 }, (): [CpuRun, CpuRun] => [cpuRun(100, 0), cpuRun(200, 5)]);
    const figure = await guard([...warmUps, ...sameState, ...offAlone]);
    expect(figure.pairs.map((p) => p.first)).toEqual(['on', 'off', 'on', 'off', 'on', 'off', 'on', 'off', 'on', 'off', 'on']);
    expect(figure.byGcState.none?.runs).toBe(4);
    expect(figure.byGcState.some?.runs).toBe(3);
    expect([figure.onAloneCompacted, figure.offAloneCompacted]).toEqual([0, 4]);
    expect(figure.ratio.median).toBeCloseTo(1.02, 5);
    const [row] = controlCpuRows([figure], 11);
    expect(row!.result).toBe('PASS');
    expect(row!.target).toContain('on alone compacted 0, off alone 4');
  });

  it('passes with the on server compacting alone only if all pairs pass too: that may be the journal’s cost', async () => {
    const sameState = Array.from({ length: 7 }, (): [CpuRun, CpuRun] => [cpuRun(102, 0), cpuRun(100, 0)]);
    const onAlone = (n: number) => Array.from({ length: n }, (): [CpuRun, CpuRun] => [cpuRun(220, 6), cpuRun(100, 0)]);
    const [leaning] = controlCpuRows([await guard([...warmUps, ...sameState, ...onAlone(4)])], 11);
    expect(leaning!.result).toBe('info');
    expect(leaning!.target).toMatch(/the on child alone made mark-compacts in 4 pairs/);
    // One such pair leaves all pairs' interval (the 3rd to the 9th ratio) within the target.
    const [rare] = controlCpuRows([await guard([...warmUps, ...sameState, ...onAlone(1), ...Array.from({ length: 3 }, (): [CpuRun, CpuRun] => [cpuRun(101, 0), cpuRun(100, 0)])])], 11);
    expect(rare!.result).toBe('PASS');
  });

  it('is not judged with too few same-state pairs, and fails a journal that costs more in the same state', async () => {
    // Judged over all pairs, these would fail (9 of 11 at 2.0): the pairs across states are left out.
    const mostlyAcross = Array.from({ length: 11 }, (_, k): [CpuRun, CpuRun] => (k < 2 ? [cpuRun(100, 0), cpuRun(100, 0)] : [cpuRun(200, 6), cpuRun(100, 0)]));
    const [few] = controlCpuRows([await guard([...warmUps, ...mostlyAcross])], 11);
    expect(few!.result).toBe('info');
    expect(few!.target).toMatch(/too few pairs/);
    const [none] = controlCpuRows([await guard([...warmUps, ...Array.from({ length: 11 }, (): [CpuRun, CpuRun] => [cpuRun(200, 6), cpuRun(100, 0)])])], 11);
    expect([none!.result, none!.target]).toEqual(['info', expect.stringMatching(/^no pair in which both were in the same GC state/)]);
    const costly = Array.from({ length: 11 }, (): [CpuRun, CpuRun] => [cpuRun(130, 0), cpuRun(100, 0)]);
    expect(controlCpuRows([await guard([...warmUps, ...costly])], 11)[0]!.result).toBe('FAIL');
  });
});

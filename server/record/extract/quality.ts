/** Quality: per-period values that reproduce the recorded timeline and overall scores (see ../extract.ts, step 4). */
import { isDeepStrictEqual } from 'node:util';
import { QUALITY_DIMENSIONS, type QualityDimension } from '../../analysis/quality.js';
import type { ScriptedQuality } from '../../types/generated.js';
import { clamp, fmt } from './numbers.js';
import type { Dims } from './events.js';
import type { Period, QualityData } from './placement.js';

/** Keeps values this far inside rounding boundaries, so float noise cannot flip a rounding. */
const MARGIN = 1e-4;

interface PeriodValue {
  /** Integer value over [start, split), then value + 1 over [split, scripted end); split null → value throughout. */
  value: number;
  split: number | null;
}

/**
 * Per period, an average with round(average) = the timeline value and, where `overall` was reported,
 * round(running weighted mean) = the overall value (header, rule 4). Past the script's end `horizon`
 * nothing is scripted and every dimension is exactly 50, as in the emulator.
 */
function solveDimension(periods: readonly Period[], horizon: number, timeline: readonly (number | undefined)[], overall: readonly (number | undefined)[], dim: string, notes: string[]): (PeriodValue | null)[] {
  const n = periods.length;
  const parts = periods.map(({ start, end }) => {
    const scripted = Math.max(0, Math.min(end, horizon) - start);
    return { start, end, length: end - start, scripted, fixed: (end - start - scripted) * 50 };
  });
  // Averages a period can have: what rounds to its timeline value, within what the script can reach.
  const allowed = (i: number): [number, number] => {
    const { length, scripted, fixed } = parts[i]!;
    const reach: [number, number] = [fixed / length, (100 * scripted + fixed) / length];
    const t = timeline[i];
    if (t === undefined) return reach;
    const lo = Math.max(reach[0], t - 0.5 + MARGIN);
    const hi = Math.min(reach[1], t + 0.5 - MARGIN);
    if (lo <= hi) return [lo, hi];
    notes.push(`quality ${dim}: ${t} over [${fmt(parts[i]!.start)}, ${fmt(parts[i]!.end)}] cannot be scripted (the script ends at ${fmt(horizon)} s); it may differ`);
    return reach;
  };
  const feasible: [number, number][] = [[0, 0]];
  for (let i = 0; i < n; i++) {
    const { end, length } = parts[i]!;
    const [aLo, aHi] = allowed(i);
    const previous = feasible[i]!;
    let lo = previous[0] + length * aLo;
    let hi = previous[1] + length * aHi;
    const o = overall[i];
    if (o !== undefined) {
      const gLo = Math.max(0, end * (o - 0.5 + MARGIN));
      const gHi = Math.min(100 * end, end * (o + 0.5 - MARGIN));
      if (Math.max(lo, gLo) <= Math.min(hi, gHi)) {
        lo = Math.max(lo, gLo);
        hi = Math.min(hi, gHi);
      } else {
        notes.push(`quality ${dim}: no values reproduce both the timeline and overall ${o} at ${fmt(end)} s; overall there may differ`);
      }
    }
    feasible.push([lo, hi]);
  }
  const preferred = (i: number): number => timeline[i] ?? overall[i] ?? 50;
  let sum = clamp(parts.reduce((acc, p, i) => acc + p.length * preferred(i), 0), feasible[n]![0], feasible[n]![1]);
  const out: (PeriodValue | null)[] = new Array<PeriodValue | null>(n);
  for (let i = n - 1; i >= 0; i--) {
    const { start, length, scripted, fixed } = parts[i]!;
    const [aLo, aHi] = allowed(i);
    const lo = Math.max(aLo, (sum - feasible[i]![1]) / length);
    const hi = Math.min(aHi, (sum - feasible[i]![0]) / length);
    let average = clamp(preferred(i), Math.min(lo, hi), Math.max(lo, hi));
    if (scripted <= 0) {
      out[i] = null;
      average = 50;
    } else {
      // The scripted stretch's own average b: average·length = b·scripted + 50·(unscripted length).
      const b = clamp((average * length - fixed) / scripted, 0, 100);
      const realized = (x: number): number => (x * scripted + fixed) / length;
      const end = start + scripted;
      out[i] = { value: Math.round(b), split: null };
      average = realized(Math.round(b));
      if (Math.abs(b - Math.round(b)) > 1e-9) {
        const value = Math.min(99, Math.floor(b));
        const exact = end - (b - value) * scripted;
        out[i] = { value, split: exact };
        average = realized(b);
        // A readable split point when one keeps the average inside the feasible range.
        for (let k = 0; k <= 6; k++) {
          const split = Math.round(exact * 10 ** k) / 10 ** k;
          const candidate = realized(value + (end - split) / scripted);
          // (lo and hi keep MARGIN from every rounding boundary: float noise around them is harmless.)
          if (split > start && split < end && candidate >= lo - 1e-9 && candidate <= hi + 1e-9) {
            out[i] = { value, split };
            average = candidate;
            break;
          }
        }
      }
    }
    sum -= length * average;
  }
  return out;
}

export function qualityEntries(periods: readonly Period[], horizon: number, data: ReadonlyMap<number, QualityData>, notes: string[]): ScriptedQuality[] {
  if (data.size === 0) return [];
  const perDim = new Map<QualityDimension, (PeriodValue | null)[]>();
  for (const dim of QUALITY_DIMENSIONS) {
    const timeline = periods.map((_, i) => data.get(i)?.timeline?.[dim]);
    const overall = periods.map((_, i) => data.get(i)?.overall?.[dim]);
    perDim.set(dim, solveDimension(periods, horizon, timeline, overall, dim, notes));
  }
  const bases: ScriptedQuality[] = [];
  const splits: ScriptedQuality[] = [];
  periods.forEach((period, i) => {
    const end = Math.min(period.end, horizon);
    if (!(end > period.start)) return;
    const values: Dims = {};
    for (const dim of QUALITY_DIMENSIONS) {
      const v = perDim.get(dim)![i];
      if (v === null || v === undefined) continue;
      values[dim] = clamp(v.value, 0, 100);
      if (v.split !== null) splits.push({ start: v.split, end, values: { [dim]: clamp(v.value + 1, 0, 100) } });
    }
    const last = bases[bases.length - 1];
    if (last !== undefined && last.end === period.start && isDeepStrictEqual(last.values, values)) last.end = end;
    else bases.push({ start: period.start, end, values });
  });
  // Later entries win: the split halves override their period's base values.
  return [...bases, ...splits];
}

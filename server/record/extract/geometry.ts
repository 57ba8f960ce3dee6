/** Window geometry: slots, presence, and the sort keys of events within a window (see ../extract.ts). */
import type { Window } from '../../analysis/windows.js';

export interface Geometry {
  W: number;
  h: number;
  p: number;
  cadence: number;
  /** Media end of the session. */
  M: number;
  /**
   * End of the script (the scenario's duration): the media end, unless an engagement change near
   * the end is only reproducible with a script that ends earlier (after it nothing is active).
   */
  horizon: number;
  wins: Window[];
  N: number;
}

/** A window's reporting slot (docs/analysis.md): [start, start + hop], a final window [start, media end]. */
export function slot(g: Geometry, pos: number): { lo: number; hi: number } {
  const w = g.wins[pos]!;
  const hi = w.final ? w.end : w.start + g.h;
  return { lo: w.start, hi: Math.max(w.start, hi) };
}

/** The emulator's presence rule for one span and one window (ScenarioModel.observe). */
export function present(g: Geometry, s: number, e: number, pos: number): boolean {
  const w = g.wins[pos];
  if (w === undefined) return false;
  const overlap = Math.min(e, w.end) - Math.max(s, w.start);
  if (overlap <= 0) return false;
  return overlap >= g.p || (s >= w.start && e <= w.end);
}

export function windowEnd(g: Geometry, pos: number): number {
  return g.wins[pos]?.end ?? 0;
}

export interface Key {
  time: number;
  rank: number;
  name: string;
}
export const RANK = { ended: 0, detected: 1, updated: 1, engagement: 2 } as const;

export function compareKeys(a: Key, b: Key): number {
  return a.time - b.time || a.rank - b.rank || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Candidate values: the breakpoints, the midpoints between them and one beyond each end. */
export function withMidpoints(values: Iterable<number>): number[] {
  const sorted = [...new Set([...values].filter((v) => Number.isFinite(v)))].sort((a, b) => a - b);
  const out = [...sorted];
  for (let i = 0; i + 1 < sorted.length; i++) out.push((sorted[i]! + sorted[i + 1]!) / 2);
  if (sorted.length > 0) out.push(sorted[0]! - 1, sorted[sorted.length - 1]! + 1);
  return [...new Set(out)].sort((a, b) => a - b);
}

/** How many decimals `x` needs (0–6, 7 for more): a mild preference for readable times. */
export function decimals(x: number): number {
  for (let k = 0; k <= 6; k++) {
    const scaled = x * 10 ** k;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-7) return k;
  }
  return 7;
}

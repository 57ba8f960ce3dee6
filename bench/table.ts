/**
 * The bench's report: one row per figure, the emulator's value beside its baseline from the same
 * run, and the markdown table they make. Every section builds `Row`s; run.ts prints the table.
 */
import { fmt, type Distribution, type MedianInterval, type Spread } from './stats.js';

export type Verdict = 'PASS' | 'FAIL' | 'info';

export interface Row {
  figure: string;
  emulator: string;
  baseline: string;
  target: string;
  result: Verdict;
}

/** A lag distribution as the rows show it: p50 / p99 / max. */
export function lagCell(d: Distribution, decimals = 1): string {
  return `${fmt(d.p50, decimals)} / ${fmt(d.p99, decimals)} / ${fmt(d.max, decimals)} ms`;
}

/** A spread as the rows show it: median (min–max). */
export function spreadCell(s: Spread, decimals = 1): string {
  return `${fmt(s.median, decimals)} (${fmt(s.min, decimals)}–${fmt(s.max, decimals)})`;
}

/** The coverage below which an interval judges nothing (3 pairs give 75 %, 1 none: most quick-run rows are info). */
export const MIN_COVERAGE = 0.9;

/**
 * A row judged on the median of its pairs: PASS when the median's confidence interval meets the
 * target, FAIL when it misses it, otherwise info, with a note saying the run could not tell; info
 * too when there are too few pairs for a 90 % interval, and FAIL when a run was spoiled (`bad`).
 */
export function intervalVerdict(m: MedianInterval, intervalMeets: boolean, intervalMisses: boolean, bad = false): { result: Verdict; note: string } {
  if (bad) return { result: 'FAIL', note: ': some run was spoiled (error envelopes, bad answers or missed windows)' };
  if (m.coverage < MIN_COVERAGE) return { result: 'info', note: `: too few pairs for a ${fmt(MIN_COVERAGE * 100, 0)} % interval, not judged` };
  if (intervalMeets) return { result: 'PASS', note: '' };
  if (intervalMisses) return { result: 'FAIL', note: '' };
  return { result: 'info', note: ': the interval spans the target, not shown either way' };
}

/** "median (low to high, 94 % interval)". */
export function intervalCell(m: MedianInterval, decimals: number, signed = false): string {
  const f = (x: number) => `${signed && x >= 0 ? '+' : ''}${fmt(x, decimals)}`;
  return `${f(m.median)} (${f(m.low)} to ${f(m.high)}, ${fmt(m.coverage * 100, 0)} % interval)`;
}

export function markdownTable(rows: readonly Row[]): string {
  const header: Row = { figure: 'Figure', emulator: 'Emulator', baseline: 'Baseline (same run)', target: 'Ratio / target', result: 'info' };
  const cells = (r: Row, isHeader = false) => [r.figure, r.emulator, r.baseline, r.target, isHeader ? 'Result' : r.result];
  const lines = [cells(header, true), ['---', '---:', '---:', '---', ':---:'], ...rows.map((r) => cells(r))];
  return lines.map((c) => `| ${c.join(' | ')} |`).join('\n');
}

/**
 * The bench's report: one row per figure, the emulator's value beside its baseline from the same
 * run, and the markdown table they make. Every section builds `Row`s; run.ts prints the table.
 */
import { fmt, type Distribution, type Spread } from './stats.js';

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

export function markdownTable(rows: readonly Row[]): string {
  const header: Row = { figure: 'Figure', emulator: 'Emulator', baseline: 'Baseline (same run)', target: 'Ratio / target', result: 'info' };
  const cells = (r: Row, isHeader = false) => [r.figure, r.emulator, r.baseline, r.target, isHeader ? 'Result' : r.result];
  const lines = [cells(header, true), ['---', '---:', '---:', '---', ':---:'], ...rows.map((r) => cells(r))];
  return lines.map((c) => `| ${c.join(' | ')} |`).join('\n');
}

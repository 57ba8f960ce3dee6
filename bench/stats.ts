/** Small numeric helpers for the bench (no dependencies). */

export interface Distribution {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array (`q` in 0..1). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

/** The median of repeated measurements, with their range. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** Fixed decimals, or "n/a" for NaN. */
export function fmt(value: number, decimals = 1): string {
  return Number.isFinite(value) ? value.toFixed(decimals) : 'n/a';
}

/**
 * A distribution-free confidence interval for the median of paired differences or ratios (the sign
 * test's order statistics): the k-th smallest to the k-th largest value, with the largest k whose
 * coverage is still at least `level`. Coverage is 1 − 2·P(Binomial(n, ½) < k): 5 values give their
 * range (94 %), 11 values the 3rd to the 9th (93 %). With fewer than 5 values the range is all
 * there is, and its coverage is below 90 % (75 % for 3): `coverage` says so.
 */
export interface MedianInterval {
  median: number;
  low: number;
  high: number;
  coverage: number;
}

export function medianInterval(values: readonly number[], level = 0.9): MedianInterval {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const coverageOf = (k: number) => {
    let tail = 0; // P(Binomial(n, ½) ≤ k − 1)
    let choose = 1;
    for (let i = 0; i < k; i++) {
      tail += choose;
      choose = (choose * (n - i)) / (i + 1);
    }
    return 1 - (2 * tail) / 2 ** n;
  };
  let k = 1;
  while (k + 1 <= n / 2 && coverageOf(k + 1) >= level) k++;
  return { median: percentile(sorted, 0.5), low: sorted[k - 1] ?? Number.NaN, high: sorted[n - k] ?? Number.NaN, coverage: n === 0 ? 0 : coverageOf(k) };
}

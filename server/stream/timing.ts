/**
 * How a session's simulated model spends time: the timing mode and its numbers, resolved from the
 * server options, the scenario's `processing` block and a per-connection override.
 *
 * Precedence (documented in docs/scenarios.md): for the mode, a connection's `?timing=` wins, then
 * an explicit server `timing`, then the scenario's `processing.timing`, then `realistic`; for the
 * numbers, the scenario's `processing` wins over the server options (like its `limits`).
 */
import type { ServerOptions } from '../options.js';
import type { LoadSpan, Scenario, TimingMode } from '../types/generated.js';

export type { TimingMode };
export const TIMING_MODES: readonly TimingMode[] = ['realistic', 'instant'];

export interface SessionTiming {
  readonly mode: TimingMode;
  /** Processing time of a window = ratio x its length (0 in instant mode). */
  readonly ratio: number;
  /** Seeded spread: ratio x length x (1 ± jitter). */
  readonly jitter: number;
  /** Windows the session may process at once. */
  readonly workers: number;
  /** Windows that may wait for a worker before the session sheds one. */
  readonly queueLimit: number;
  /** Scripted load: slowdowns (realistic mode only) and forced shedding. */
  readonly load: readonly LoadSpan[];
}

export function resolveTiming(options: ServerOptions, scenario: Scenario, connectionMode?: TimingMode): SessionTiming {
  const p = scenario.processing ?? {};
  const mode = connectionMode ?? options.timing ?? p.timing ?? 'realistic';
  const realistic = mode === 'realistic';
  return {
    mode,
    ratio: realistic ? (p.ratio ?? options.processingRatio) : 0,
    jitter: realistic ? (p.jitter ?? options.processingJitter) : 0,
    workers: p.workers ?? options.workersPerSession,
    queueLimit: p.queue_limit ?? options.maxQueuedWindows,
    load: scenario.load ?? [],
  };
}

/** The scripted load span a window falls in (by its start), if any. */
export function loadAt(load: readonly LoadSpan[], windowStart: number): LoadSpan | undefined {
  return load.find((span) => windowStart >= span.start && windowStart < span.end);
}

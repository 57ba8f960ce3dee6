/**
 * How a session's simulated model spends time: the timing mode and its numbers, resolved from the
 * server options, the scenario's `processing` block and a per-connection override.
 *
 * Modes (docs/fidelity.md has the evidence and which numbers are inferred):
 * - `live` (default): a window's results come a seeded model latency after it is due (9.5 ± 1.5 s),
 *   whatever its length, with a few windows of a session in flight (4). Calibrated on the live
 *   service: a recording sent in one message got its first events 8-11 s later, then bursts with
 *   gaps of several seconds, and was analyzed in full.
 * - `ratio`: a window takes ratio x its length (± jitter): fast, for demos and load figures.
 * - `instant`: no added latency and no timers, for tests.
 * `realistic` is the deprecated name of `ratio` (the default before `live`), still accepted.
 *
 * Precedence (documented in docs/scenarios.md): for the mode, a connection's `?timing=` wins, then
 * an explicit server `timing`, then the scenario's `processing.timing`, then `live`; for the
 * numbers, the scenario's `processing` wins over the server options (like its `limits`).
 */
import type { ServerOptions } from '../options.js';
import type { LoadSpan, Scenario, TimingMode } from '../types/generated.js';

export type { TimingMode };

/** A timing mode once deprecated names are mapped: what a session actually runs. */
export type ResolvedTimingMode = Exclude<TimingMode, 'realistic'>;

/** The timing modes, in the order the docs present them (deprecated names excluded). */
export const TIMING_MODES: readonly ResolvedTimingMode[] = ['live', 'ratio', 'instant'];

/** Deprecated names still accepted wherever a mode is chosen, and the mode each stands for. */
export const DEPRECATED_TIMING_NAMES: Readonly<Record<string, ResolvedTimingMode>> = { realistic: 'ratio' };

/** Every name accepted for a mode (`?timing=`, `--timing`, `processing.timing`). */
export const ACCEPTED_TIMING_NAMES: readonly TimingMode[] = [...TIMING_MODES, ...(Object.keys(DEPRECATED_TIMING_NAMES) as TimingMode[])];

export function canonicalTimingMode(mode: TimingMode): ResolvedTimingMode {
  return DEPRECATED_TIMING_NAMES[mode] ?? (mode as ResolvedTimingMode);
}

export interface SessionTiming {
  readonly mode: ResolvedTimingMode;
  /** Live: seconds from due to results for any window (0 in other modes). */
  readonly latencySeconds: number;
  /** Live: seeded spread of the latency, ± seconds. */
  readonly latencyJitterSeconds: number;
  /** Ratio: processing time of a window = ratio x its length (0 in other modes). */
  readonly ratio: number;
  /** Ratio: seeded spread, ratio x length x (1 ± jitter). */
  readonly jitter: number;
  /** Windows the session may process at once. */
  readonly workers: number;
  /** Windows that may wait for a worker, whatever the load, before the session sheds one (Infinity = no limit). */
  readonly queueLimit: number;
  /** Windows that may wait while the server is under load (saturated pool, load span) before it sheds one. */
  readonly loadQueueLimit: number;
  /** Scripted load: slowdowns and forced shedding; a window in a span is processed under load. */
  readonly load: readonly LoadSpan[];
}

export function resolveTiming(options: ServerOptions, scenario: Scenario, connectionMode?: TimingMode): SessionTiming {
  const p = scenario.processing ?? {};
  const mode = canonicalTimingMode(connectionMode ?? options.timing ?? p.timing ?? 'live');
  return {
    mode,
    latencySeconds: mode === 'live' ? (p.latency ?? options.modelLatencySeconds) : 0,
    latencyJitterSeconds: mode === 'live' ? (p.latency_jitter ?? options.modelLatencyJitterSeconds) : 0,
    ratio: mode === 'ratio' ? (p.ratio ?? options.processingRatio) : 0,
    jitter: mode === 'ratio' ? (p.jitter ?? options.processingJitter) : 0,
    workers: p.workers ?? options.workersPerSession,
    queueLimit: p.queue_limit ?? options.maxQueuedWindows ?? Infinity,
    loadQueueLimit: p.load_queue_limit ?? options.loadQueueLimit,
    load: scenario.load ?? [],
  };
}

/**
 * `resolveTiming` for one server's options, remembering the results for its own scenario by
 * connection mode: the sessions of the server's scenario (nearly all of them) share one timing
 * object (read-only) instead of each keeping a copy for its life. Other scenarios (a built-in chosen
 * by URL, a generated one, a new default) get their own, as before: a cache for them would keep an
 * entry per generated scenario.
 */
export function timingResolver(options: ServerOptions, serverScenario: Scenario): (scenario: Scenario, connectionMode?: TimingMode) => SessionTiming {
  const byMode = new Map<TimingMode | undefined, SessionTiming>();
  return (scenario, connectionMode) => {
    if (scenario !== serverScenario) return resolveTiming(options, scenario, connectionMode);
    let timing = byMode.get(connectionMode);
    if (!timing) byMode.set(connectionMode, (timing = Object.freeze(resolveTiming(options, scenario, connectionMode))));
    return timing;
  };
}

/** Nominal processing seconds of a window of `lengthSeconds` (before load slowdown and jitter). */
export function nominalSeconds(timing: SessionTiming, lengthSeconds: number): number {
  return timing.latencySeconds + timing.ratio * lengthSeconds;
}

/** How far, in seconds, the seeded spread may move a window of `lengthSeconds` either way (before slowdown). */
export function spreadSeconds(timing: SessionTiming, lengthSeconds: number): number {
  return timing.latencyJitterSeconds + timing.ratio * lengthSeconds * timing.jitter;
}

/** The scripted load span a window falls in (by its start), if any. */
export function loadAt(load: readonly LoadSpan[], windowStart: number): LoadSpan | undefined {
  // A loop, not find(): called several times per window, nearly always with no load spans.
  for (let k = 0; k < load.length; k++) if (windowStart >= load[k]!.start && windowStart < load[k]!.end) return load[k];
  return undefined;
}

/** One line for the readiness output and logs: the mode and the numbers that matter for it. */
export function describeTiming(t: SessionTiming): string {
  const queue = t.queueLimit === Infinity ? `no queue limit (${t.loadQueueLimit} under load)` : `a queue of ${t.queueLimit}`;
  switch (t.mode) {
    case 'instant':
      return 'instant (no added latency)';
    case 'live':
      return `live (window results ${t.latencySeconds} s ± ${t.latencyJitterSeconds} s after due, ${t.workers} workers per session, ${queue})`;
    case 'ratio':
      return `ratio (window processing ${t.ratio} x length ± ${Math.round(t.jitter * 100)} %, ${t.workers} workers per session, ${queue})`;
  }
}

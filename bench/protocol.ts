/** Messages between `bench/run.ts` (parent) and `bench/server-child.ts` over the Node IPC channel. */
import type { OwnDelayResult } from './own-time.js';
import type { Distribution } from './stats.js';

export type ServerKind = 'emulator' | 'bare';
/** Every kind of child: the two servers above, and `bare-upload`, fastify + @fastify/multipart discarding each upload. */
export type ChildKind = ServerKind | 'bare-upload';

/** Passed to the child as its one argument (JSON). */
export interface ChildConfig {
  kind: ChildKind;
  /** Emulator only (always in ratio timing): `processingRatio` (0 = windows complete at once; 0.25 = the option's default). */
  processingRatio: number;
  /** Emulator only: record `onWindowEmitted` lags, measured on a clock with sub-millisecond `now()` (server-child.ts `FineClock`). */
  collectLag: boolean;
  /** Emulator only: `processingJitter` (default 0: lag then measures the server, not the simulated spread). */
  processingJitter?: number;
  /** Emulator only: `workerPoolSize` (default null: unlimited). */
  workerPoolSize?: number | null;
  /** Emulator only: `journalSize` (default: the option's default, the journal on; 0 turns it off). */
  journalSize?: number;
  /**
   * Emulator only: 'live' runs the default live timing (each window's results `modelLatencySeconds`
   * after it is due, the default workers per session) with `processingJitter` as the latency jitter
   * in seconds (default 0); `processingRatio` is then unused. Default 'ratio' (see server-child.ts).
   */
  timing?: 'ratio' | 'live';
}

export type ChildCommand =
  | { cmd: 'memory' }
  | { cmd: 'stats' }
  | { cmd: 'lag' }
  | { cmd: 'eld-start'; resolutionMs: number }
  | { cmd: 'eld-stop' }
  | { cmd: 'heap-snapshot'; path: string }
  | { cmd: 'journal' }
  | { cmd: 'gc-stats' }
  | { cmd: 'exit' };

export interface ChildRequest {
  id: number;
  command: ChildCommand;
}

export interface ChildReply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** First message from the child. */
export interface ChildReady {
  ready: true;
  port: number;
  path: string;
}

export interface MemoryResult {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** V8's young generation, bytes committed (`new_space` + `new_large_object_space`): it grows with the bytes surviving scavenges. */
  youngGeneration: number;
}

export interface StatsResult {
  /** Connections currently open (bare) or sessions currently open (emulator). */
  open: number;
  messages: number;
  bytes: number;
  /** Emulator only: segments rejected by the timeline (should be 0), by error code. */
  errorsByCode: Record<string, number>;
  /** Emulator only: min and max session media seconds over open sessions. */
  mediaSecondsMin: number;
  mediaSecondsMax: number;
  windowsAnalyzed: number;
  /** Emulator only, summed over open sessions: windows shed, and received / analyzed / dropped media seconds. */
  windowsShed: number;
  receivedSeconds: number;
  analyzedSeconds: number;
  droppedSeconds: number;
  /** process.cpuUsage() of the child, microseconds. */
  cpuUserMicros: number;
  cpuSystemMicros: number;
  /** The main thread's own CPU time, µs (Linux: `/proc/thread-self/schedstat`; null elsewhere): the rest of `cpuUser + cpuSystem` is V8's and libuv's helper threads. */
  mainThreadMicros: number | null;
  /** process.resourceUsage(): minor page faults and context switches of the child. */
  minorPageFaults: number;
  voluntaryContextSwitches: number;
  involuntaryContextSwitches: number;
}

export interface LagResult {
  /** Lag samples (ms) since the previous `lag` command. */
  samples: number[];
  /** The same, each capped by the CPU the child used between the window's due time and its emission (own-time.ts). */
  cpuSamples: number[];
}

export interface EldResult extends Distribution {
  resolutionMs: number;
  /** Over the same span, each tick's delay capped by the CPU the child used during it (own-time.ts). */
  own: OwnDelayResult;
}

/** The emulator's admin journal (a ring buffer): entries held, its capacity, entries recorded and evicted since start. */
export interface JournalResult {
  size: number;
  capacity: number;
  recorded: number;
  evicted: number;
}

/** Garbage collections in the child since it started (PerformanceObserver 'gc' entries): count and total pause, ms. */
export interface GcStatsResult {
  minorCount: number;
  minorMs: number;
  majorCount: number;
  majorMs: number;
  /** Incremental marking steps and weak callbacks. */
  otherCount: number;
  otherMs: number;
  /** The longest pause of any kind since the previous `gc-stats` command, ms; and how many passed 10 ms since start. */
  maxMs: number;
  over10ms: number;
}

/**
 * The scale figure (`--only=scale`, `--only=scale5000`): thousands of concurrent real-time sessions
 * on one server process, in the emulator's default live timing with jitter 0, next to bare ws
 * receiving the same traffic in the same run (bench/README.md, "Scale").
 *
 * Each session sends the 3-s segment every 3 s of wall time, starts spread over the first period
 * (`paceRealTime`: one timer in this process for every connection). Two server children, one after
 * the other, each fresh: bare ws, then the emulator. Figures:
 * - event lag of every window (as the lag section defines it: the time its events were sent − the
 *   time an idle server would have sent them, here due + the 9.5-s model latency), and whether every
 *   window due was emitted;
 * - server CPU (`process.cpuUsage()` in the child, user + system) per session-second of media, over
 *   the same span for both servers: from the first send to the last send + the model latency + 2 s.
 */
import { withChild, type ServerHandle, type SpawnOptions } from './child-handle.js';
import { closeAll, openMany, paceRealTime, type BenchConnection } from './client.js';
import type { BenchMedia } from './media.js';
import type { ChildConfig, EldResult, GcStatsResult, JournalResult, LagResult, ServerKind, StatsResult } from './protocol.js';
import { distribution, fmt, type Distribution } from './stats.js';
import { lagCell, type Row } from './table.js';

/** The sections this module adds to `npm run bench`, and the sessions each runs. `scale5000` is opt-in. */
export const SCALE_SECTIONS = { scale: 2000, scale5000: 5000 } as const;
export type ScaleSection = keyof typeof SCALE_SECTIONS;
/** In the default run (`scale5000` only with `--only=scale5000`). */
export const DEFAULT_SCALE_SECTIONS: readonly ScaleSection[] = ['scale'];

/** p99 event lag targets by sessions (issue 16), and the CPU ratio target. */
export const SCALE_TARGETS = { lagP99Ms: { 2000: 10, 5000: 20 } as Record<number, number>, cpuRatio: 1.2 };

/** The emulator's default live timing (`modelLatencySeconds`): results leave this long after a window is due. */
const MODEL_LATENCY_SECONDS = 9.5;
const SEGMENT_PERIOD_SECONDS = 3;
const WINDOW_SECONDS = 8;
const HOP_SECONDS = 3;

export interface ScaleRunOptions {
  /** Seconds of real-time sending per session (a multiple of 3). */
  seconds: number;
  spawn: SpawnOptions;
  log(msg: string): void;
}

interface ServerRun {
  kind: ServerKind;
  /** Child CPU (user + system) over the measured span, µs. */
  cpuMicros: number;
  /** The measured span, s. */
  wallSeconds: number;
  /** Segments this process sent, and how late each left behind its schedule (ms). */
  sent: number;
  clientLate: Distribution;
  /** This (client) process's CPU over the span, in cores. */
  clientCores: number;
  statsBefore: StatsResult;
  statsAfter: StatsResult;
  bytesSent: number;
  /** Bytes the server had taken when measured (less than sent: it never caught up). */
  bytesTaken: number;
  /** Seconds after the tail that the server still needed to take every byte sent (0 when it kept up). */
  catchUpSeconds: number;
  /** Garbage collection in the child over the span (pauses on the main thread). */
  gc: GcStatsResult;
  errors: number;
  firstError: string | undefined;
}

export interface ScaleFigure {
  section: ScaleSection;
  sessions: number;
  /** Real-time seconds each session sent (= media seconds). */
  seconds: number;
  expectedWindows: number;
  lag: Distribution;
  /** The same lags, each capped by the CPU the server child used over it: its own share, which other processes do not move. */
  cpuLag: Distribution;
  idleEventLoopDelay: EldResult;
  loadedEventLoopDelay: EldResult;
  journal: JournalResult;
  emulator: ServerRun;
  bare: ServerRun & { loadedEventLoopDelay: EldResult };
  /** Server CPU per session-second of media, µs. */
  emulatorMicrosPerSessionSecond: number;
  bareMicrosPerSessionSecond: number;
  cpuRatio: number;
  firstError: string | undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function scaleFigure(section: ScaleSection, media: BenchMedia, options: ScaleRunOptions): Promise<ScaleFigure> {
  const sessions = SCALE_SECTIONS[section];
  const sends = Math.floor(options.seconds / SEGMENT_PERIOD_SECONDS);
  const mediaSeconds = sends * SEGMENT_PERIOD_SECONDS;
  const sessionSeconds = sessions * mediaSeconds;
  const windowsPerSession = mediaSeconds >= WINDOW_SECONDS ? Math.floor((mediaSeconds - WINDOW_SECONDS) / HOP_SECONDS) + 1 : 0;

  // Bare ws's event-loop delay under the same traffic: the floor the emulator's lag cannot go below
  // (reading 77-KB frames, and the GC their buffers cause, delay timers in any ws server).
  const bare = await withChild({ kind: 'bare', processingRatio: 0, collectLag: false }, options.spawn, async (server) => {
    const run = await realTimeRun(server, sessions, media.segment3s, sends, options, async () => {
      await server.call({ cmd: 'eld-start', resolutionMs: 2 });
    });
    return { ...run, loadedEventLoopDelay: await server.call<EldResult>({ cmd: 'eld-stop' }) };
  });
  options.log(`${section} bare ws: ${fmt(bare.cpuMicros / sessionSeconds, 1)} µs CPU a session-second (${gcCell(bare)}), loaded ELD ${lagCell(bare.loadedEventLoopDelay)} (${ownCell(bare.loadedEventLoopDelay)}), client sends p99 ${fmt(bare.clientLate.p99)} ms late`);

  const emu = await withChild({ kind: 'emulator', timing: 'live', processingJitter: 0, processingRatio: 0, collectLag: true }, options.spawn, async (server) => {
    await sleep(500);
    await server.call({ cmd: 'eld-start', resolutionMs: 2 });
    await sleep(2000);
    const idle = await server.call<EldResult>({ cmd: 'eld-stop' });
    const run = await realTimeRun(server, sessions, media.segment3s, sends, options, async () => {
      await server.call({ cmd: 'lag' }); // nothing expected before the load
      await server.call({ cmd: 'eld-start', resolutionMs: 2 });
    });
    const loaded = await server.call<EldResult>({ cmd: 'eld-stop' });
    const { samples, cpuSamples } = await server.call<LagResult>({ cmd: 'lag' });
    const journal = await server.call<JournalResult>({ cmd: 'journal' });
    return { run, idle, loaded, samples, cpuSamples, journal };
  });
  const lag = distribution(emu.samples);
  const cpuLag = distribution(emu.cpuSamples);
  options.log(`${section} emulator: lag ${lagCell(lag)} (${lag.count}/${sessions * windowsPerSession} windows; in the server's CPU time ${lagCell(cpuLag)}), ${fmt(emu.run.cpuMicros / sessionSeconds, 1)} µs CPU a session-second (${gcCell(emu.run)}), loaded ELD ${lagCell(emu.loaded)} (${ownCell(emu.loaded)}), client sends p99 ${fmt(emu.run.clientLate.p99)} ms late`);

  const e = emu.run.cpuMicros / sessionSeconds;
  const b = bare.cpuMicros / sessionSeconds;
  return {
    section,
    sessions,
    seconds: mediaSeconds,
    expectedWindows: sessions * windowsPerSession,
    lag,
    cpuLag,
    idleEventLoopDelay: emu.idle,
    loadedEventLoopDelay: emu.loaded,
    journal: emu.journal,
    emulator: emu.run,
    bare,
    emulatorMicrosPerSessionSecond: e,
    bareMicrosPerSessionSecond: b,
    cpuRatio: e / b,
    firstError: emu.run.firstError,
  };
}


/**
 * Open `sessions` connections, send `frame` in real time `sends` times each, wait out the model
 * latency, and measure the server child's CPU over [first send, last send + latency + 2 s].
 */
async function realTimeRun(server: ServerHandle, sessions: number, frame: Buffer, sends: number, options: ScaleRunOptions, beforeLoad?: () => Promise<void>): Promise<ServerRun> {
  const t0 = performance.now();
  const conns: BenchConnection[] = await openMany(server.url, sessions, 100);
  options.log(`${server.config.kind}: ${sessions} connections open in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  try {
    await sleep(1000); // session.ready frames out, handshake garbage collected
    await beforeLoad?.();
    const gcBefore = await server.call<GcStatsResult>({ cmd: 'gc-stats' });
    const statsBefore = await server.call<StatsResult>({ cmd: 'stats' });
    const clientBefore = process.cpuUsage();
    const start = performance.now();
    const { sent, lateMs } = await paceRealTime(conns, frame, SEGMENT_PERIOD_SECONDS * 1000, sends);
    await sleep((MODEL_LATENCY_SECONDS + 2) * 1000);
    // A server that fell behind is still reading: wait (at most a minute) until it has taken every
    // byte sent, and say how long that took, instead of measuring a run it has not finished.
    const expectedBytes = statsBefore.bytes + sent * frame.length;
    let statsAfter = await server.call<StatsResult>({ cmd: 'stats' });
    const behindSince = performance.now();
    while (statsAfter.bytes < expectedBytes && performance.now() - behindSince < 60_000) {
      await sleep(500);
      statsAfter = await server.call<StatsResult>({ cmd: 'stats' });
    }
    const catchUpSeconds = (performance.now() - behindSince) / 1000;
    const gcAfter = await server.call<GcStatsResult>({ cmd: 'gc-stats' });
    const wallSeconds = (performance.now() - start) / 1000;
    const clientCpu = process.cpuUsage(clientBefore);
    const bytesTaken = statsAfter.bytes - statsBefore.bytes;
    if (bytesTaken !== sent * frame.length) options.log(`${server.config.kind} server took ${bytesTaken} of ${sent * frame.length} bytes sent, a minute after the run`);
    return {
      kind: server.config.kind as ServerKind,
      cpuMicros: statsAfter.cpuUserMicros - statsBefore.cpuUserMicros + statsAfter.cpuSystemMicros - statsBefore.cpuSystemMicros,
      wallSeconds,
      sent,
      clientLate: distribution(lateMs),
      clientCores: (clientCpu.user + clientCpu.system) / 1e6 / wallSeconds,
      statsBefore,
      statsAfter,
      bytesSent: sent * frame.length,
      bytesTaken,
      catchUpSeconds,
      gc: gcDelta(gcBefore, gcAfter),
      errors: conns.reduce((n, c) => n + c.errorFrames, 0),
      firstError: conns.find((c) => c.firstError)?.firstError,
    };
  } finally {
    closeAll(conns);
    await sleep(500);
  }
}

function gcDelta(a: GcStatsResult, b: GcStatsResult): GcStatsResult {
  return {
    minorCount: b.minorCount - a.minorCount,
    minorMs: b.minorMs - a.minorMs,
    majorCount: b.majorCount - a.majorCount,
    majorMs: b.majorMs - a.majorMs,
    otherCount: b.otherCount - a.otherCount,
    otherMs: b.otherMs - a.otherMs,
    maxMs: b.maxMs, // since `a` was read
    over10ms: b.over10ms - a.over10ms,
  };
}

/** GC pauses as a share of the child's CPU over the span, and the collections. */
function gcCell(run: ServerRun): string {
  const ms = run.gc.minorMs + run.gc.majorMs + run.gc.otherMs;
  return `GC ${fmt((100 * ms * 1000) / run.cpuMicros, 0)} % of it: ${run.gc.minorCount} scavenges ${fmt(run.gc.minorMs, 0)} ms, ${run.gc.majorCount} mark-compacts ${fmt(run.gc.majorMs, 0)} ms; longest pause ${fmt(run.gc.maxMs, 0)} ms, ${run.gc.over10ms} over 10 ms`;
}

/** The event loop's delays in the server's own CPU time: what its work (and GC) held the loop for. */
function ownCell(eld: EldResult): string {
  const { own } = eld;
  const waited = own.waitMs === null ? '' : `; its main thread waited ${fmt(own.waitMs / 1000, 1)} s of ${fmt(own.wallMs / 1000, 0)} s for the CPU`;
  return `own blocks p99 ${fmt(own.p99)} ms, longest ${fmt(own.max)} ms, ${own.over10ms} over 10 ms${waited}`;
}

export function scaleRows(figures: readonly ScaleFigure[]): Row[] {
  const rows: Row[] = [];
  for (const f of figures) {
    const target = SCALE_TARGETS.lagP99Ms[f.sessions] ?? 20;
    const closed = f.sessions - f.emulator.statsAfter.open;
    const problems = [
      f.emulator.errors > 0 ? `${f.emulator.errors} error envelopes!` : '',
      f.lag.count < f.expectedWindows ? `${f.expectedWindows - f.lag.count} windows missing!` : '',
      closed > 0 ? `${closed} sessions closed!` : '',
      f.emulator.bytesTaken < f.emulator.bytesSent ? `took only ${fmt((100 * f.emulator.bytesTaken) / f.emulator.bytesSent, 1)} % of the bytes sent!` : '',
      f.emulator.catchUpSeconds > 1 ? `${fmt(f.emulator.catchUpSeconds, 0)} s behind at the end` : '',
    ].filter(Boolean);
    // A server that waited for the CPU much of the time measured the machine more than itself: say so.
    const own = f.loadedEventLoopDelay.own;
    const starved = own.waitMs !== null && own.wallMs > 0 && own.waitMs / own.wallMs > 0.2 ? ` (the machine: the server's main thread waited ${fmt((100 * own.waitMs) / own.wallMs, 0)} % of the span for the CPU)` : '';
    const what = `${f.sessions} real-time sessions, live timing (${MODEL_LATENCY_SECONDS}-s model latency, jitter 0), 3-s segment every 3 s, ${f.seconds} s`;
    const pacing = `client sends p99 ${fmt(f.emulator.clientLate.p99)} ms late`;
    rows.push({
      figure: `Scale, event lag p50 / p99 / max: ${what} (${f.lag.count}/${f.expectedWindows} windows; ${pacing})`,
      emulator: lagCell(f.lag) + (problems.length ? ` (${problems.join(', ')})` : '') + starved,
      baseline: `${lagCell(f.idleEventLoopDelay)} (idle event-loop delay); bare ws under the same traffic: event-loop delay ${lagCell(f.bare.loadedEventLoopDelay)}; the emulator's: ${lagCell(f.loadedEventLoopDelay)}`,
      target: `p99 ≤ ${target} ms, every window`,
      result: problems.length === 0 && f.lag.p99 <= target ? 'PASS' : 'FAIL',
    });
    // The same lags in the server's own CPU time: what the server itself (its work and GC) added,
    // which the other processes of a shared machine do not move (own-time.ts).
    rows.push({
      figure: `Scale, event lag in the server's CPU time p50 / p99 / max (each lag capped by the CPU the server used over it): ${what}`,
      emulator: lagCell(f.cpuLag) + starved,
      baseline: `the event loop's blocks in CPU time: bare ws: ${ownCell(f.bare.loadedEventLoopDelay)}; the emulator: ${ownCell(f.loadedEventLoopDelay)}; idle: ${ownCell(f.idleEventLoopDelay)}`,
      target: `p99 ≤ ${target} ms`,
      result: f.cpuLag.p99 <= target ? 'PASS' : 'FAIL',
    });
    rows.push({
      figure: `Scale, server CPU per session-second of media: ${what}`,
      emulator: `${fmt(f.emulatorMicrosPerSessionSecond, 1)} µs (${fmt(f.emulator.cpuMicros / 1e6 / f.emulator.wallSeconds, 2)} cores; ${gcCell(f.emulator)})`,
      baseline: `${fmt(f.bareMicrosPerSessionSecond, 1)} µs (${fmt(f.bare.cpuMicros / 1e6 / f.bare.wallSeconds, 2)} cores, bare ws; ${gcCell(f.bare)})`,
      target: `${fmt(f.cpuRatio, 2)} (≤ ${fmt(SCALE_TARGETS.cpuRatio, 1)})`,
      result: f.cpuRatio <= SCALE_TARGETS.cpuRatio ? 'PASS' : 'FAIL',
    });
  }
  return rows;
}

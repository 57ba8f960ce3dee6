/**
 * The scale figure (`--only=scale`, `--only=scale5000`): thousands of concurrent real-time sessions
 * on one server process, in the emulator's default live timing with jitter 0, next to bare ws
 * receiving the same traffic in the same run (bench/README.md, "Scale").
 *
 * Each session sends the 3-s segment every 3 s of wall time, starts spread over the first period
 * (`paceRealTime`: one timer in this process for every connection). `pairs` pairs of runs, each on
 * fresh server children, alternating which of the two goes first:
 * - the emulator alone on its CPU: the event lag of every window, pooled over the runs (as the lag
 *   section defines it: the time its events were sent − the time an idle server would have sent
 *   them, here due + the 9.5-s model latency), and whether every window due was emitted;
 * - the emulator and bare ws at once, pinned to the same CPU, each session's segment sent to both
 *   within the same millisecond: server CPU (`process.cpuUsage()` in each child, user + system) per
 *   session-second of media, over the same span (the first send to the last send + the model
 *   latency + 2 s). One after the other, a server's figure moved by up to ×2 between runs a minute
 *   apart (bare ws alone: 76 to 152 µs a session-second); at once, both see the same machine. The
 *   ratio is judged on the median of the runs, with their range.
 */
import { withChild, type ServerHandle, type SpawnOptions } from './child-handle.js';
import { closeAll, openMany, paceRealTime, type BenchConnection } from './client.js';
import type { BenchMedia } from './media.js';
import type { ChildConfig, EldResult, GcStatsResult, JournalResult, LagResult, ServerKind, StatsResult } from './protocol.js';
import { distribution, fmt, spread, type Distribution, type Spread } from './stats.js';
import { lagCell, spreadCell, type Row } from './table.js';

/** The sections this module adds to `npm run bench`, and the sessions each runs. `scale5000` is opt-in. */
export const SCALE_SECTIONS = { scale: 2000, scale5000: 5000 } as const;
export type ScaleSection = keyof typeof SCALE_SECTIONS;
/** In the default run (`scale5000` only with `--only=scale5000`). */
export const DEFAULT_SCALE_SECTIONS: readonly ScaleSection[] = ['scale'];

/** p99 event lag targets by sessions (issue 16), and the CPU ratio target. */
export const SCALE_TARGETS = { lagP99Ms: { 2000: 10, 5000: 20 } as Record<number, number>, cpuRatio: 1.2 };

/**
 * For the CPU row's two children: glibc's malloc keeps freed memory at the top of its heap instead of
 * giving it back to the system whenever more than its trim threshold is free there (128 KB at first,
 * raised as its mmap threshold adapts). Under this traffic bare ws hands back and takes again the
 * memory of the received frames (5,100 `brk` calls in 20 s against the emulator's 600), and whether
 * it does depends on the order its buffers happen to be freed in: its page faults went from 15 to
 * 107 thousand a run, its CPU a session-second from about 90 to 165 µs, and the ratio with it. Both
 * children get the same setting; the emulator's figure barely moves. Setting the trim threshold
 * also fixes glibc's mmap threshold at 128 KB: every allocation from there is mapped and unmapped on
 * its own. This traffic's buffers are smaller (77-KB messages read in 64-KB chunks). Ignored where
 * the C library is not glibc.
 */
const TRIM_THRESHOLD = 'glibc.malloc.trim_threshold=268435456';
const steadyMalloc = (env: Record<string, string> | undefined) => ({ ...env, GLIBC_TUNABLES: [env?.GLIBC_TUNABLES ?? process.env.GLIBC_TUNABLES, TRIM_THRESHOLD].filter(Boolean).join(':') });

/** The emulator's default live timing (`modelLatencySeconds`): results leave this long after a window is due. */
const MODEL_LATENCY_SECONDS = 9.5;
const SEGMENT_PERIOD_SECONDS = 3;
const WINDOW_SECONDS = 8;
const HOP_SECONDS = 3;

export interface ScaleRunOptions {
  /** Seconds of real-time sending per session (a multiple of 3). */
  seconds: number;
  /** Pairs of runs (bare ws and the emulator, each on a fresh child). */
  pairs: number;
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

/** One run of the emulator alone: its server run, and the lags and event-loop delays it measured. */
interface EmulatorRun {
  run: ServerRun;
  idle: EldResult;
  loaded: EldResult;
  lag: Distribution;
  samples: number[];
  cpuSamples: number[];
  journal: JournalResult;
}

/** One run of both servers at once on the same CPU, taking the same traffic: the CPU figure. */
interface SharedRun {
  emulator: ServerRun;
  bare: ServerRun;
}

export interface ScaleFigure {
  section: ScaleSection;
  sessions: number;
  /** Real-time seconds each session sent (= media seconds). */
  seconds: number;
  /** Windows due in each emulator run. */
  expectedWindows: number;
  /** Every window of every emulator run, pooled. */
  lag: Distribution;
  /** The same lags, each capped by the CPU the server child used over it: its own share, which other processes do not move. */
  cpuLag: Distribution;
  /** Each emulator run's p99, in run order. */
  runP99s: number[];
  /** The emulator's runs alone (the lag), in order. */
  emulatorRuns: Array<Omit<EmulatorRun, 'samples' | 'cpuSamples'>>;
  /** The runs of both servers at once (the CPU), in order. */
  sharedRuns: SharedRun[];
  /** Server CPU per session-second of media, µs, over the shared runs. */
  emulatorMicrosPerSessionSecond: Spread;
  bareMicrosPerSessionSecond: Spread;
  /** Emulator / bare ws of each shared run. */
  cpuRatios: Spread;
  firstError: string | undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The emulator child as the scale runs start it: the default live timing, jitter 0. */
const emulatorConfig = (collectLag: boolean): ChildConfig => ({ kind: 'emulator', timing: 'live', processingJitter: 0, processingRatio: 0, collectLag });

export async function scaleFigure(section: ScaleSection, media: BenchMedia, options: ScaleRunOptions): Promise<ScaleFigure> {
  const sessions = SCALE_SECTIONS[section];
  const sends = Math.floor(options.seconds / SEGMENT_PERIOD_SECONDS);
  const mediaSeconds = sends * SEGMENT_PERIOD_SECONDS;
  const sessionSeconds = sessions * mediaSeconds;
  const windowsPerSession = mediaSeconds >= WINDOW_SECONDS ? Math.floor((mediaSeconds - WINDOW_SECONDS) / HOP_SECONDS) + 1 : 0;
  const perSessionSecond = (run: ServerRun) => run.cpuMicros / sessionSeconds;

  // The lag: the emulator alone on its CPU, as a user's server would run.
  const emulatorRun = () => withChild(emulatorConfig(true), options.spawn, async (server): Promise<EmulatorRun> => {
    await sleep(500);
    await server.call({ cmd: 'eld-start', resolutionMs: 2 });
    await sleep(2000);
    const idle = await server.call<EldResult>({ cmd: 'eld-stop' });
    const [run] = await realTimeRun([server], sessions, media.segment3s, sends, options, async () => {
      await server.call({ cmd: 'lag' }); // nothing expected before the load
      await server.call({ cmd: 'eld-start', resolutionMs: 2 });
    });
    const loaded = await server.call<EldResult>({ cmd: 'eld-stop' });
    const { samples, cpuSamples } = await server.call<LagResult>({ cmd: 'lag' });
    const journal = await server.call<JournalResult>({ cmd: 'journal' });
    const lag = distribution(samples);
    options.log(`${section} emulator alone: lag ${lagCell(lag)} (${lag.count}/${sessions * windowsPerSession} windows; in the server's CPU time ${lagCell(distribution(cpuSamples))}), ${fmt(perSessionSecond(run!), 1)} µs CPU a session-second (${gcCell(run!)}), loaded ELD ${lagCell(loaded)} (${ownCell(loaded)}), client sends p99 ${fmt(run!.clientLate.p99)} ms late`);
    return { run: run!, idle, loaded, lag, samples, cpuSamples, journal };
  });

  // The CPU: both servers at once, pinned to the same CPU, each session's segment sent to both
  // within the same millisecond. Run one after the other, each server's figure moved by up to ×2
  // between runs a minute apart with the machine's speed; at once, both see the same machine.
  // Neither measures its lag (no event-loop sampler, no lag hook): nothing but the server works.
  const sharedSpawn: SpawnOptions = { ...options.spawn, env: steadyMalloc(options.spawn.env) };
  const sharedRun = () =>
    withChild({ kind: 'bare', processingRatio: 0, collectLag: false }, sharedSpawn, (bare) =>
      withChild(emulatorConfig(false), sharedSpawn, async (emulator): Promise<SharedRun> => {
        const [e, b] = await realTimeRun([emulator, bare], sessions, media.segment3s, sends, options);
        options.log(`${section} both at once: emulator ${fmt(perSessionSecond(e!), 1)} µs CPU a session-second (${cpuSplitCell(e!)}; ${gcCell(e!)}), bare ws ${fmt(perSessionSecond(b!), 1)} µs (${cpuSplitCell(b!)}; ${gcCell(b!)}): ${fmt(e!.cpuMicros / b!.cpuMicros, 2)}; client sends p99 ${fmt(e!.clientLate.p99)} ms late`);
        return { emulator: e!, bare: b! };
      }),
    );

  const emulatorRuns: EmulatorRun[] = [];
  const sharedRuns: SharedRun[] = [];
  for (let pair = 0; pair < options.pairs; pair++) {
    // Alternate which goes first, so a drift of the machine over the section favours neither.
    if (pair % 2 === 0) {
      emulatorRuns.push(await emulatorRun());
      sharedRuns.push(await sharedRun());
    } else {
      sharedRuns.push(await sharedRun());
      emulatorRuns.push(await emulatorRun());
    }
  }

  return {
    section,
    sessions,
    seconds: mediaSeconds,
    expectedWindows: sessions * windowsPerSession,
    lag: distribution(emulatorRuns.flatMap((r) => r.samples)),
    cpuLag: distribution(emulatorRuns.flatMap((r) => r.cpuSamples)),
    runP99s: emulatorRuns.map((r) => r.lag.p99),
    emulatorRuns: emulatorRuns.map(({ samples: _s, cpuSamples: _c, ...rest }) => rest),
    sharedRuns,
    emulatorMicrosPerSessionSecond: spread(sharedRuns.map((r) => perSessionSecond(r.emulator))),
    bareMicrosPerSessionSecond: spread(sharedRuns.map((r) => perSessionSecond(r.bare))),
    cpuRatios: spread(sharedRuns.map((r) => r.emulator.cpuMicros / r.bare.cpuMicros)),
    firstError: [...emulatorRuns.map((r) => r.run), ...sharedRuns.map((r) => r.emulator)].find((r) => r.firstError)?.firstError,
  };
}

/**
 * Open `sessions` connections to each server, send `frame` in real time `sends` times on each, the
 * servers' connections interleaved (session i of every server in turn), wait out the model latency,
 * and measure each server child's CPU over [first send, last send + latency + 2 s].
 */
async function realTimeRun(servers: readonly ServerHandle[], sessions: number, frame: Buffer, sends: number, options: ScaleRunOptions, beforeLoad?: () => Promise<void>): Promise<ServerRun[]> {
  const perServer: BenchConnection[][] = [];
  try {
    for (const server of servers) {
      const t0 = performance.now();
      perServer.push(await openMany(server.url, sessions, 100));
      options.log(`${server.config.kind}: ${sessions} connections open in ${fmt((performance.now() - t0) / 1000, 1)} s`);
    }
    const interleaved = Array.from({ length: sessions }, (_, i) => perServer.map((conns) => conns[i]!)).flat();
    await sleep(1000); // session.ready frames out, handshake garbage collected
    await beforeLoad?.();
    const gcBefore = await Promise.all(servers.map((s) => s.call<GcStatsResult>({ cmd: 'gc-stats' })));
    const statsBefore = await Promise.all(servers.map((s) => s.call<StatsResult>({ cmd: 'stats' })));
    const sentBefore = perServer.map(framesSent);
    const clientBefore = process.cpuUsage();
    const start = performance.now();
    const { lateMs } = await paceRealTime(interleaved, frame, SEGMENT_PERIOD_SECONDS * 1000, sends);
    await sleep((MODEL_LATENCY_SECONDS + 2) * 1000);
    // A server that fell behind is still reading: wait (at most a minute) until each has taken every
    // byte sent to it, and say how long that took, instead of measuring a run it has not finished.
    const sent = perServer.map((conns, k) => framesSent(conns) - sentBefore[k]!);
    const expectedBytes = statsBefore.map((before, k) => before.bytes + sent[k]! * frame.length);
    const behindSince = performance.now();
    let statsAfter = await Promise.all(servers.map((s) => s.call<StatsResult>({ cmd: 'stats' })));
    while (statsAfter.some((after, k) => after.bytes < expectedBytes[k]!) && performance.now() - behindSince < 60_000) {
      await sleep(500);
      statsAfter = await Promise.all(servers.map((s) => s.call<StatsResult>({ cmd: 'stats' })));
    }
    const catchUpSeconds = (performance.now() - behindSince) / 1000;
    const gcAfter = await Promise.all(servers.map((s) => s.call<GcStatsResult>({ cmd: 'gc-stats' })));
    const wallSeconds = (performance.now() - start) / 1000;
    const clientCpu = process.cpuUsage(clientBefore);
    return servers.map((server, k) => {
      const [before, after, conns] = [statsBefore[k]!, statsAfter[k]!, perServer[k]!];
      const bytesTaken = after.bytes - before.bytes;
      const bytesSent = sent[k]! * frame.length;
      if (bytesTaken !== bytesSent) options.log(`${server.config.kind} server took ${bytesTaken} of ${bytesSent} bytes sent, a minute after the run`);
      return {
        kind: server.config.kind as ServerKind,
        cpuMicros: after.cpuUserMicros - before.cpuUserMicros + after.cpuSystemMicros - before.cpuSystemMicros,
        wallSeconds,
        sent: sent[k]!,
        clientLate: distribution(lateMs),
        clientCores: (clientCpu.user + clientCpu.system) / 1e6 / wallSeconds,
        statsBefore: before,
        statsAfter: after,
        bytesSent,
        bytesTaken,
        catchUpSeconds,
        gc: gcDelta(gcBefore[k]!, gcAfter[k]!),
        errors: conns.reduce((n, c) => n + c.errorFrames, 0),
        firstError: conns.find((c) => c.firstError)?.firstError,
      };
    });
  } finally {
    for (const conns of perServer) closeAll(conns);
    await sleep(500);
  }
}

const framesSent = (conns: readonly BenchConnection[]) => conns.reduce((n, c) => n + c.framesSent, 0);

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

/** Where a run's CPU went: system time, the main thread's share (Linux), page faults and context switches. */
function cpuSplitCell(run: ServerRun): string {
  const [a, b] = [run.statsBefore, run.statsAfter];
  const share = (micros: number) => `${fmt((100 * micros) / run.cpuMicros, 0)} %`;
  const main = a.mainThreadMicros === null || b.mainThreadMicros === null ? '' : `, main thread ${share(b.mainThreadMicros - a.mainThreadMicros)}`;
  const switches = b.voluntaryContextSwitches - a.voluntaryContextSwitches + b.involuntaryContextSwitches - a.involuntaryContextSwitches;
  return `system ${share(b.cpuSystemMicros - a.cpuSystemMicros)}${main}, ${fmt((b.minorPageFaults - a.minorPageFaults) / 1000, 0)}k page faults, ${fmt(switches / 1000, 0)}k context switches`;
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
  // The longest blocks, each with its main thread's share (at most): the rest was the process's other threads, mostly V8's helpers, on the same CPU.
  const longest = own.longest.length === 0 ? 'none' : own.longest.map((b) => `${fmt(b.ownMs)} ms at ${fmt(b.atMs / 1000, 1)} s${b.mainMs === null ? '' : ` (main thread ${fmt(b.mainMs)} ms)`}`).join(', ');
  return `own blocks p99 ${fmt(own.p99)} ms, ${own.over10ms} over 10 ms, the longest ${longest}${waited}`;
}

const p99s = (values: readonly number[]) => values.map((v) => fmt(v)).join(', ');

export function scaleRows(figures: readonly ScaleFigure[]): Row[] {
  const rows: Row[] = [];
  for (const f of figures) {
    const target = SCALE_TARGETS.lagP99Ms[f.sessions] ?? 20;
    const lagRuns = f.emulatorRuns.map((r) => r.run);
    // Every run of the emulator must have kept up, the shared ones too.
    const everyRun = [...lagRuns, ...f.sharedRuns.map((r) => r.emulator)];
    const expected = f.expectedWindows * lagRuns.length;
    const errors = everyRun.reduce((n, r) => n + r.errors, 0);
    const closed = everyRun.reduce((n, r) => n + f.sessions - r.statsAfter.open, 0);
    const short = [...everyRun, ...f.sharedRuns.map((r) => r.bare)].filter((r) => r.bytesTaken < r.bytesSent);
    const behind = Math.max(...everyRun.map((r) => r.catchUpSeconds));
    const problems = [
      errors > 0 ? `${errors} error envelopes!` : '',
      f.lag.count < expected ? `${expected - f.lag.count} windows missing!` : '',
      closed > 0 ? `${closed} sessions closed!` : '',
      short.length > 0 ? `took only ${short.map((r) => `${fmt((100 * r.bytesTaken) / r.bytesSent, 1)} %`).join(', ')} of the bytes sent!` : '',
      behind > 1 ? `${fmt(behind, 0)} s behind at the end` : '',
    ].filter(Boolean);
    // A server that waited for the CPU much of the time measured the machine more than itself: say so.
    const waits = f.emulatorRuns.map((r) => r.loaded.own).filter((own) => own.waitMs !== null && own.wallMs > 0).map((own) => own.waitMs! / own.wallMs);
    const starved = waits.some((w) => w > 0.2) ? ` (the machine: the server's main thread waited up to ${fmt(100 * Math.max(...waits), 0)} % of a run for the CPU)` : '';
    const what = `${f.sessions} real-time sessions, live timing (${MODEL_LATENCY_SECONDS}-s model latency, jitter 0), 3-s segment every 3 s, ${f.seconds} s`;
    const pacing = `client sends p99 ${fmt(Math.max(...lagRuns.map((r) => r.clientLate.p99)))} ms late at most`;
    const mid = f.emulatorRuns[Math.ceil(f.emulatorRuns.length / 2) - 1]!;
    rows.push({
      figure: `Scale, event lag p50 / p99 / max, the emulator alone, every window of ${lagRuns.length} runs on fresh children pooled: ${what} (${f.lag.count}/${expected} windows; ${pacing})`,
      emulator: `${lagCell(f.lag)} (each run's p99: ${p99s(f.runP99s)} ms)` + (problems.length ? ` (${problems.join(', ')})` : '') + starved,
      baseline: `${lagCell(f.emulatorRuns[0]!.idle)} (idle event-loop delay); the emulator's event-loop delay p99 under the traffic, each run: ${p99s(f.emulatorRuns.map((r) => r.loaded.p99))} ms`,
      target: `p99 ≤ ${target} ms, every window`,
      result: problems.length === 0 && f.lag.p99 <= target ? 'PASS' : 'FAIL',
    });
    // The same lags in the server's own CPU time: what the server itself (its work and GC) added,
    // which the other processes of a shared machine do not move (own-time.ts).
    rows.push({
      figure: `Scale, event lag in the server's CPU time p50 / p99 / max (each lag capped by the CPU the server used over it): ${what}`,
      emulator: lagCell(f.cpuLag) + starved,
      baseline: `the event loop's blocks in CPU time, run ${Math.ceil(f.emulatorRuns.length / 2)}: under the traffic ${ownCell(mid.loaded)}; idle ${ownCell(mid.idle)}`,
      target: `p99 ≤ ${target} ms`,
      result: f.cpuLag.p99 <= target ? 'PASS' : 'FAIL',
    });
    const midShared = [...f.sharedRuns].sort((a, b) => a.emulator.cpuMicros / a.bare.cpuMicros - b.emulator.cpuMicros / b.bare.cpuMicros)[Math.ceil(f.sharedRuns.length / 2) - 1]!;
    rows.push({
      figure: `Scale, server CPU per session-second of media, both servers at once on one CPU taking the same traffic, median (min–max) of ${f.sharedRuns.length} runs on fresh children: ${what}`,
      emulator: `${spreadCell(f.emulatorMicrosPerSessionSecond)} µs (median run: ${gcCell(midShared.emulator)})`,
      baseline: `${spreadCell(f.bareMicrosPerSessionSecond)} µs bare ws (median run: ${gcCell(midShared.bare)})`,
      target: `${spreadCell(f.cpuRatios, 2)} (median ≤ ${fmt(SCALE_TARGETS.cpuRatio, 1)})`,
      result: f.cpuRatios.median <= SCALE_TARGETS.cpuRatio ? 'PASS' : 'FAIL',
    });
  }
  return rows;
}

/**
 * The server under test, in its own process so that the bench's client load does not share its
 * event loop. Compiled to plain JavaScript and started by `bench/run.ts` (child-handle.ts) with
 * `--expose-gc` and an IPC channel:
 *
 *   node --expose-gc .cache/bench-server-child.mjs '{"kind":"emulator","processingRatio":0,...}'
 *
 * - kind "emulator": `createMockServer` with logging off and idle/max-duration limits out of reach,
 *   its V8 garbage collection tuned by open sessions as the CLI's (`ServingHeapTuning`);
 * - kind "bare": a plain `http` server with a `ws` WebSocketServer using the emulator's ws options
 *   (perMessageDeflate off, the same maxPayload) that counts and discards every message;
 * - kind "bare-upload": fastify with the same @fastify/multipart as the emulator, whose
 *   `POST /v1/upload/analyze` reads every multipart part, discards the file bytes and answers
 *   `{"bytes": n}` (the baseline of the upload figure).
 *
 * The child answers the parent's commands (see `protocol.ts`): memory after gc, counters, window
 * lag samples (`onWindowEmitted`), event-loop delay, heap snapshots, exit. It exits by itself when
 * the parent goes away (IPC disconnect), so it can never outlive a bench run.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants as perfConstants, monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import multipart from '@fastify/multipart';
import Fastify from 'fastify';
import { WebSocketServer } from 'ws';
// The shipped build (dist/, what `npx ih-mock` runs), not the TypeScript sources through tsx's loader.
import { createMockServer, STREAM_PATH, type MockServer } from '../dist/server/app.js';
import { receiveMessages } from '../dist/server/connection.js';
import { RealClock } from '../dist/server/clock.js';
import { ServingHeapTuning, type HeapTuningOptions } from '../dist/server/heap-tuning.js';
import { UPLOAD_PATH } from '../dist/server/http/upload-route.js';
import { resolveOptions, wsMaxPayload } from '../dist/server/options.js';
import { OwnTimeMeter, threadCpuMicros } from './own-time.js';
import type { ChildCommand, ChildConfig, ChildReady, ChildReply, ChildRequest, EldResult, GcStatsResult, JournalResult, LagResult, MemoryResult, StatsResult } from './protocol.js';

const DAY_SECONDS = 86_400;

if (!process.send) throw new Error('bench/server-child.ts must be started by bench/run.ts (with an IPC channel)');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('bench/server-child.ts needs --expose-gc');

const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;

const lags: number[] = [];
/** When each lag sample's window was emitted (performance.now()), for the lag in the process's own CPU time. */
const emittedAt: number[] = [];
/** The process's CPU time, sampled with the event-loop delay (own-time.ts). */
const ownTime = new OwnTimeMeter();
const errorsByCode: Record<string, number> = {};
let bareMessages = 0;
let bareBytes = 0;
let bareOpen = 0;
let eld: { histogram: IntervalHistogram; resolutionMs: number } | undefined;
/** Every garbage collection of this process (for the scale figure: how much of the CPU is GC). */
const gcStats: GcStatsResult = { minorCount: 0, minorMs: 0, majorCount: 0, majorMs: 0, otherCount: 0, otherMs: 0, maxMs: 0, over10ms: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcStats.maxMs = Math.max(gcStats.maxMs, entry.duration);
    if (entry.duration > 10) gcStats.over10ms++;
    const kind = ((entry as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind;
    if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) {
      gcStats.minorCount++;
      gcStats.minorMs += entry.duration;
    } else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) {
      gcStats.majorCount++;
      gcStats.majorMs += entry.duration;
    } else {
      gcStats.otherCount++;
      gcStats.otherMs += entry.duration;
    }
  }
}).observe({ entryTypes: ['gc'] });

/**
 * The real clock with a sub-millisecond `now()`, for the figures that read window lags: the server
 * computes a window's lag as two `clock.now()` readings apart, and with `Date.now()` each is cut to
 * the millisecond, so a difference of 1-2 ms at p99 (the control plane's target) would be lost in
 * the rounding. Timers are the real clock's; timestamps (ISO with microseconds) keep their format.
 */
class FineClock extends RealClock {
  override now(): number {
    return performance.timeOrigin + performance.now();
  }
}

/** The heap tuning's thresholds and nice values from BENCH_HEAP_TUNING, for comparing settings in one hour; none: the CLI's. */
function heapTuningOverrides(): HeapTuningOptions {
  const text = process.env.BENCH_HEAP_TUNING;
  if (!text) return {};
  const allowed = ['fromSessions', 'belowSessions', 'crowdedFromSessions', 'crowdedBelowSessions', 'helperThreadNice'];
  const overrides = JSON.parse(text) as unknown;
  const isObject = typeof overrides === 'object' && overrides !== null && !Array.isArray(overrides);
  if (!isObject || Object.keys(overrides).some((key) => !allowed.includes(key)) || Object.values(overrides).some((v) => typeof v !== 'number')) throw new Error(`BENCH_HEAP_TUNING takes numbers for ${allowed.join(', ')}; got ${text}`);
  return overrides as HeapTuningOptions;
}

let mock: (MockServer & { streamUrl: string }) | undefined;
let closeServer: () => Promise<void>;
let port: number;

if (config.kind === 'emulator') {
  mock = await createMockServer({
    port: 0,
    logLevel: 'silent',
    ...(config.timing === 'live'
      ? // The default live timing (fixed model latency with jitter 0), for the scale figure (bench/scale.ts).
        { timing: 'live' as const, modelLatencyJitterSeconds: config.processingJitter ?? 0 }
      : // Ratio timing, not the default live timing: the bench measures the server, not 8-11 s of
        // simulated model latency; 2 workers per session keep the pool figure's sizing (bench/README.md).
        { timing: 'ratio' as const, workersPerSession: 2, processingRatio: config.processingRatio, processingJitter: config.processingJitter ?? 0 }),
    workerPoolSize: config.workerPoolSize ?? null,
    // As the CLI does for `npx ih-mock` (server/heap-tuning.ts); bare ws runs on node's defaults.
    // BENCH_HEAP_TUNING (JSON, e.g. '{"helperThreadNice":10}') changes its settings for an A/B (bench/README.md).
    heapTuning: new ServingHeapTuning(heapTuningOverrides()),
    ...(config.collectLag ? { clock: new FineClock() } : {}),
    ...(config.journalSize !== undefined ? { journalSize: config.journalSize } : {}),
    idleTimeoutSeconds: DAY_SECONDS,
    maxDurationSeconds: DAY_SECONDS,
    scenario: 'conversation',
    // The upload figure sends a few uploads a second from one account: no request-rate limit.
    rateLimitPerMinute: null,
    onEvent: (event) => {
      if (event.type === 'error') {
        const code = (event.data as { code?: string }).code ?? 'unknown';
        errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
      }
    },
    ...(config.collectLag
      ? {
          onWindowEmitted: (lagMs: number) => {
            lags.push(lagMs);
            emittedAt.push(performance.now());
          },
        }
      : {}),
  });
  port = Number(new URL(mock.streamUrl).port);
  const server = mock;
  closeServer = () => server.close();
} else if (config.kind === 'bare-upload') {
  const app = Fastify({ logger: false });
  await app.register(multipart, { limits: { fileSize: Number.MAX_SAFE_INTEGER } });
  app.post(UPLOAD_PATH, async (request) => {
    let bytes = 0;
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue;
      for await (const chunk of part.file as AsyncIterable<Buffer>) bytes += chunk.length;
    }
    bareMessages++;
    bareBytes += bytes;
    return { bytes };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
  closeServer = () => app.close();
} else {
  // Same ws options as server/app.ts: no compression, the same maxPayload (from the default options).
  const http = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, maxPayload: wsMaxPayload(resolveOptions({})), perMessageDeflate: false });
  http.on('upgrade', (request, socket, head) => {
    wss.handleUpgrade(request, socket, head, (ws) => {
      bareOpen++;
      const count = (bytes: number) => {
        bareMessages++;
        bareBytes += bytes;
      };
      // BENCH_BARE_TAKES_MESSAGE=1: bare ws taking messages as ih-mock does (receiveMessages,
      // server/connection.ts), to see how much of the CPU ratio is ws's held messages.
      if (process.env.BENCH_BARE_TAKES_MESSAGE === '1') receiveMessages(ws, (bytes) => count(bytes.length));
      else ws.on('message', (data) => count((data as Buffer).length)); // ws's default binaryType: one Buffer
      ws.on('close', () => bareOpen--);
      ws.on('error', () => {});
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  port = (http.address() as AddressInfo).port;
  closeServer = async () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };
}

function memory(): MemoryResult {
  // Two passes: the first may only queue finalizers (e.g. of sockets) that free more on the second.
  gc!();
  gc!();
  const m = process.memoryUsage();
  const youngGeneration = getHeapSpaceStatistics()
    .filter((s) => s.space_name === 'new_space' || s.space_name === 'new_large_object_space')
    .reduce((n, s) => n + s.space_size, 0);
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, youngGeneration };
}

function stats(): StatsResult {
  const cpu = process.cpuUsage();
  const usage = process.resourceUsage();
  const base = {
    errorsByCode: { ...errorsByCode },
    cpuUserMicros: cpu.user,
    cpuSystemMicros: cpu.system,
    mainThreadMicros: threadCpuMicros(),
    minorPageFaults: usage.minorPageFault,
    voluntaryContextSwitches: usage.voluntaryContextSwitches,
    involuntaryContextSwitches: usage.involuntaryContextSwitches,
  };
  if (!mock) {
    const none = { windowsAnalyzed: 0, windowsShed: 0, receivedSeconds: 0, analyzedSeconds: 0, droppedSeconds: 0 };
    return { ...base, ...none, open: bareOpen, messages: bareMessages, bytes: bareBytes, mediaSecondsMin: 0, mediaSecondsMax: 0 };
  }
  const sums = { messages: 0, bytes: 0, windowsAnalyzed: 0, windowsShed: 0, receivedSeconds: 0, analyzedSeconds: 0, droppedSeconds: 0 };
  let min = Infinity;
  let max = 0;
  for (const { stats: s } of mock.sessions) {
    sums.messages += s.binaryMessages;
    sums.bytes += s.bytesReceived;
    sums.windowsAnalyzed += s.windowsAnalyzed;
    sums.windowsShed += s.windowsShed;
    sums.receivedSeconds += s.receivedSeconds;
    sums.analyzedSeconds += s.analyzedSeconds;
    sums.droppedSeconds += s.droppedSeconds;
    min = Math.min(min, s.receivedSeconds);
    max = Math.max(max, s.receivedSeconds);
  }
  return { ...base, ...sums, open: mock.sessions.size, mediaSecondsMin: Number.isFinite(min) ? min : 0, mediaSecondsMax: max };
}

function eldStop(): EldResult {
  if (!eld) throw new Error('eld-stop without eld-start');
  const { histogram, resolutionMs } = eld;
  histogram.disable();
  ownTime.stop();
  eld = undefined;
  // The histogram records the time between timer ticks, which includes the resolution itself.
  const delay = (q: number) => Math.max(0, histogram.percentile(q) / 1e6 - resolutionMs);
  return {
    count: histogram.count,
    p50: delay(50),
    p99: delay(99),
    max: Math.max(0, histogram.max / 1e6 - resolutionMs),
    mean: Math.max(0, histogram.mean / 1e6 - resolutionMs),
    resolutionMs,
    own: ownTime.ownDelay(),
  };
}

async function handle(command: ChildCommand): Promise<unknown> {
  switch (command.cmd) {
    case 'memory':
      return memory();
    case 'stats':
      return stats();
    case 'lag': {
      const at = emittedAt.splice(0, emittedAt.length);
      const samples = lags.splice(0, lags.length);
      // The meter's samples of the last eld-start..eld-stop span cover these windows' due and emit times.
      const result: LagResult = { samples, cpuSamples: ownTime.cpuLag(samples, at) };
      return result;
    }
    case 'eld-start': {
      eld?.histogram.disable();
      const histogram = monitorEventLoopDelay({ resolution: command.resolutionMs });
      histogram.enable();
      ownTime.start(command.resolutionMs);
      eld = { histogram, resolutionMs: command.resolutionMs };
      return null;
    }
    case 'eld-stop':
      return eldStop();
    case 'heap-snapshot':
      gc!();
      return writeHeapSnapshot(command.path);
    case 'gc-stats': {
      const result = { ...gcStats };
      gcStats.maxMs = 0; // the longest pause since the previous call
      return result;
    }
    case 'journal': {
      if (!mock) throw new Error('journal: only the emulator has one');
      const { journal } = await mock.admin.status();
      const result: JournalResult = { size: journal.size, capacity: journal.capacity, recorded: journal.recorded, evicted: journal.evicted };
      return result;
    }
    case 'exit':
      await closeServer();
      setImmediate(() => process.exit(0));
      return null;
  }
}

process.on('message', (message: ChildRequest) => {
  handle(message.command).then(
    (result) => process.send!({ id: message.id, ok: true, result } satisfies ChildReply),
    (err: unknown) => process.send!({ id: message.id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies ChildReply),
  );
});
process.on('disconnect', () => process.exit(0));

process.send({ ready: true, port, path: config.kind === 'bare-upload' ? UPLOAD_PATH : STREAM_PATH } satisfies ChildReady);

/**
 * Runs a client under test through cases. For each case: an emulator with the case's scenario, the
 * recording proxy in front of it (the kit's record of the wire), the client (a shell command, or a
 * function for in-process use) pointed at the proxy; then the recording becomes traces, and the
 * server invariants (a sanity check of ih-mock itself) and the client invariants give the verdict.
 *
 * Verdicts: OK (nothing violated), NON-STRICT (only warnings), FAILED (an error-severity invariant
 * was violated, or the client could not be run), INFORMATIONAL (the case only reports).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createMockServer, type MockServerOptions } from '../server/app.js';
import { httpStatus, type ErrorCode } from '../server/errors.js';
import { RealClock } from '../server/clock.js';
import { PACKAGE_ROOT } from '../server/paths.js';
import { createRecorder } from '../server/record/proxy.js';
import { readRecording } from '../server/record/reader.js';
import type { Scenario } from '../server/types/generated.js';
import type { ConformanceCase, Transport } from './cases.js';
import { CLIENT_INVARIANTS, parseObservations, type ClientRun, type Observation } from './client-invariants.js';
import { checkTrace, SERVER_INVARIANTS, type Severity, type Violation } from './invariants.js';
import { refusedUpgradesFromRecording, tracesFromRecording, type Trace } from './trace.js';
import { checkUpload, UPLOAD_SERVER_INVARIANTS } from './upload-server-invariants.js';
import { uploadsFromRecording, type UploadExchange } from './uploads.js';

export type Verdict = 'OK' | 'NON-STRICT' | 'FAILED' | 'INFORMATIONAL';

/** The environment a client gets (docs: conformance/README.md). */
export interface ClientEnv {
  IH_STREAM_URL: string;
  IH_API_BASE_URL: string;
  IH_API_KEY: string;
  IH_MEDIA_FILE: string;
  IH_MEDIA_SEGMENTS: string;
  IH_MEDIA_SECONDS: string;
  IH_OBSERVATIONS: string;
  IH_CASE: string;
  /** What the case exercises: `stream` (connect to IH_STREAM_URL) or `upload` (POST IH_MEDIA_FILE to IH_API_BASE_URL/v1/upload/analyze). */
  IH_TRANSPORT: Transport;
}

/** A command run through the shell, or a function (in-process use: vitest, jest). Resolves with an exit code. */
export type ClientUnderTest = { command: string } | { run: (env: ClientEnv) => Promise<number> };

export interface CaseResult {
  id: string;
  title: string;
  /** What the case does and expects of the client (the catalogue's text). */
  description: string;
  /** The invariants the case is about (every client invariant is checked in every case). */
  stresses: string[];
  verdict: Verdict;
  violations: (Violation & { severity: Severity })[];
  exitCode: number | null;
  durationMs: number;
  connections: number;
  /** The last lines the client printed, stdout and stderr (commands only). */
  output: string;
  /** The last lines of the client's stderr (commands only): what it said when it crashed. */
  stderr: string;
  transport: Transport;
  /** The wire, for reports: every connection's trace. */
  traces: Trace[];
  /** Every upload the client made (upload cases). */
  uploads: UploadExchange[];
  /** The client's observation file, parsed (null: it wrote none). */
  observations: Observation[] | null;
  /** Where the case's recording of the wire was kept (a FAILED case, with `keepFailedRecordings`), else null. */
  recording: string | null;
}

const API_KEY = 'ih_live_conformance_key';
/** What a case with `credential: 'revoked'` gives the client: a key the server refuses (401 ih2001). */
const REVOKED_KEY = 'ih_live_revoked_conformance_key';
const SEVERITY = new Map<string, Severity>([...SERVER_INVARIANTS, ...UPLOAD_SERVER_INVARIANTS, ...CLIENT_INVARIANTS].map((i) => [i.id, i.severity]));

/** The shipped sample media of one length: the whole file and its 3-s segments. */
export function sampleMedia(seconds: 12 | 24): { file: string; segments: string[] } {
  const dir = join(PACKAGE_ROOT, 'conformance', 'media');
  const segmentsDir = join(dir, `sample-${seconds}s-segments`);
  return { file: join(dir, `sample-${seconds}s.webm`), segments: readdirSync(segmentsDir).filter((f) => f.endsWith('.webm')).sort().map((f) => join(segmentsDir, f)) };
}

export interface RunCaseOptions {
  client: ClientUnderTest;
  /** Seed of the emulator (and so of the case's ids and random faults). */
  seed?: number;
  /**
   * A folder where a FAILED case's recording (`<case>.wire.jsonl`) and observation file
   * (`<case>.observations.jsonl`) are kept for a closer look; without it they are deleted with the
   * rest of the case's temporary files.
   */
  keepFailedRecordings?: string;
}

/** The emulator of a case, as the kit runs it (the bench runs the same without the kit around it). */
export function caseEmulatorOptions(testCase: ConformanceCase, seed: number): MockServerOptions {
  // The timing mode is pinned (the scenario's, else instant) rather than left to the server's
  // default, so every case runs the same whatever that default becomes. Uploads are answered at
  // once unless the scenario scripts a delay (its processing block times streams only).
  const timing = testCase.scenario.processing?.timing ?? 'instant';
  // No admin journal: the kit judges its own recording of the wire, and nothing reads the
  // emulator's; allocating its ring (10 000 entries by default) was a fifth of a case's set-up.
  return { scenario: testCase.scenario, seed, logLevel: 'silent', strictEvents: true, apiKeys: [API_KEY], timing, journalSize: 0, ...(caseTransport(testCase) === 'upload' ? { processingRatio: 0 } : {}) };
}

/**
 * Cases' set-ups (the emulator and the proxy, 25–60 ms of CPU each) one at a time, in the order the
 * cases start. They run on this one thread either way; taken all at once, the first case started
 * (the one with the longest scripted waits, which the whole run waits for) got its emulator only
 * after every other case's, a few hundred ms later with 8 at a time.
 */
let setUpsDone: Promise<unknown> = Promise.resolve();
function oneSetUpAtATime<T>(setUp: () => Promise<T>): Promise<T> {
  const done = setUpsDone.then(setUp);
  setUpsDone = done.catch(() => undefined);
  return done;
}

/** What a case gives its client: where to connect (the kit's proxy; the bench's bare runs: the emulator), its key and media, where to write observations. */
export function caseClientEnv(testCase: ConformanceCase, urls: { streamUrl: string; baseUrl: string }, observationsPath: string): ClientEnv {
  const media = sampleMedia(testCase.mediaSeconds);
  return {
    IH_STREAM_URL: urls.streamUrl,
    IH_API_BASE_URL: urls.baseUrl,
    IH_API_KEY: caseApiKey(testCase),
    IH_MEDIA_FILE: media.file,
    IH_MEDIA_SEGMENTS: media.segments.join('\n'),
    IH_MEDIA_SECONDS: String(testCase.mediaSeconds),
    IH_OBSERVATIONS: observationsPath,
    IH_CASE: testCase.id,
    IH_TRANSPORT: caseTransport(testCase),
  };
}

/** How a case's client reaches the emulator: the stream unless the case says upload. */
export function caseTransport(testCase: ConformanceCase): Transport {
  return testCase.transport ?? 'stream';
}

/** The API key a case gives its client (`IH_API_KEY`): the emulator's, or one it refuses. */
export function caseApiKey(testCase: ConformanceCase): string {
  return testCase.credential === 'revoked' ? REVOKED_KEY : API_KEY;
}

export async function runCase(testCase: ConformanceCase, options: RunCaseOptions): Promise<CaseResult> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), `ih-mock-case-${testCase.id}-`));
  try {
    return await runCaseIn(dir, testCase, options, started);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runCaseIn(dir: string, testCase: ConformanceCase, options: RunCaseOptions, started: number): Promise<CaseResult> {
  const recordingPath = join(dir, 'wire.jsonl');
  const observationsPath = join(dir, 'observations.jsonl');
  const quiet = pino({ level: 'silent' });
  const transport = caseTransport(testCase);
  const { emulator, recorder, base } = await oneSetUpAtATime(async () => {
    const emulator = await createMockServer(caseEmulatorOptions(testCase, options.seed ?? 1));
    const recorder = createRecorder({ upstream: emulator.baseUrl, out: recordingPath, withMedia: false, recorder: 'ih-mock conformance', host: '127.0.0.1', port: 0, clock: new RealClock(), logger: quiet });
    return { emulator, recorder, base: await recorder.listen() };
  });
  const env = caseClientEnv(testCase, { streamUrl: `${base.replace(/^http/, 'ws')}/v1/stream/analyze`, baseUrl: base }, observationsPath);
  const timeoutMs = testCase.timeoutMs ?? caseTimeoutMs(testCase, emulator.options.maxDrainSeconds);
  let exitCode: number | null = null;
  let output = '';
  let stderr = '';
  let runProblem: string | null = null;
  try {
    ({ exitCode, output, stderr } = await runClient(options.client, env, timeoutMs));
    if (exitCode === null) runProblem = `the client did not finish within ${timeoutMs} ms and was stopped`;
  } catch (err) {
    runProblem = `the client could not be run: ${(err as Error).message}`;
  } finally {
    await recorder.settled(2000); // the last frames and closes pass the proxy and are recorded
    await recorder.close();
    await emulator.close();
  }

  const recording = readRecording(recordingPath);
  const traces = tracesFromRecording(recording);
  const refusedUpgrades = refusedUpgradesFromRecording(recording);
  const uploads = uploadsFromRecording(recording);
  const observations = existsSync(observationsPath) ? parseObservations(readFileSync(observationsPath, 'utf8')) : null;
  const scriptedErrors = new Set((testCase.scenario.faults ?? []).flatMap((f) => (f.action === 'error' && f.code ? [f.code] : [])));
  if (testCase.credential === 'revoked') scriptedErrors.add('ih2001');
  const run: ClientRun = {
    sessions: traces.map((trace) => {
      const close = trace.frames.find((f) => f.kind === 'close');
      return { trace, openedAt: trace.started ?? 0, closedAt: close ? (trace.started ?? 0) + close.t : null };
    }),
    refusedUpgrades,
    observations,
    uploads,
    mediaBytes: statSync(env.IH_MEDIA_FILE).size,
    exitCode,
    scriptedErrors,
  };
  const violations: CaseResult['violations'] = [];
  // The server side is ih-mock itself: only its errors matter here (a bug in the kit), not its
  // warnings (the unknown event types some cases send on purpose).
  for (const trace of traces) for (const v of checkTrace(trace).violations) if (SEVERITY.get(v.invariant) === 'error') violations.push({ ...v, severity: 'error' });
  for (const upload of uploads) for (const v of checkUpload(upload).violations) if (SEVERITY.get(v.invariant) === 'error') violations.push({ ...v, severity: 'error' });
  for (const inv of CLIENT_INVARIANTS) for (const v of inv.check(run)) violations.push({ ...v, severity: inv.severity });
  // How the client ended says why it never connected: a crash (a syntax error, a missing module) or a quiet exit.
  const exited = `the client exited with code ${exitCode}`;
  if (!runProblem && transport === 'stream' && traces.length === 0 && refusedUpgrades.length === 0) violations.push({ invariant: 'client.connects', frame: null, message: `${exited} without opening a stream session`, severity: 'error' });
  if (!runProblem && transport === 'upload' && uploads.length === 0) violations.push({ invariant: 'client.connects', frame: null, message: `${exited} without uploading (IH_TRANSPORT=upload: POST the media file to ${env.IH_API_BASE_URL}/v1/upload/analyze; a client that only streams runs with --transport stream)`, severity: 'error' });
  if (runProblem) violations.push({ invariant: 'client.runs', frame: null, message: runProblem, severity: 'error' });

  const errors = violations.some((v) => v.severity === 'error');
  const verdict: Verdict = testCase.informational ? 'INFORMATIONAL' : errors ? 'FAILED' : violations.length > 0 ? 'NON-STRICT' : 'OK';
  // A recording with nothing in it (the client never connected) is not worth keeping.
  const kept = verdict === 'FAILED' && options.keepFailedRecordings && recording.sessions.length > 0 ? keepRecording(options.keepFailedRecordings, testCase.id, recordingPath, observationsPath) : null;
  rmSync(dir, { recursive: true, force: true });
  const { id, title, description, stresses } = testCase;
  return { id, title, description, stresses, verdict, violations, exitCode, durationMs: Date.now() - started, connections: traces.length + refusedUpgrades.length, output, stderr, transport, traces, uploads, observations, recording: kept };
}

/** Time a client gets for everything but the server's waits: starting, sending its media, judging a busy machine (ms). */
const CLIENT_ALLOWANCE_MS = 15_000;
/** Reconnects (stream) or retries (upload) a correct client may make, and the backoff each may take (ms). */
const MAX_RECONNECTS = 3;
const BACKOFF_ALLOWANCE_MS = 5_000;
/** Most bytes of events a throttled session of up to 24 s of media sends (a generous bound, for the throttle's time). */
const THROTTLED_EVENT_BYTES = 64 * 1024;

/**
 * How long a correct client may take on a case: always longer than every wait the server can
 * impose on it, so a timeout is never the kit's own doing. A stream session: the media at real
 * time, the longest drain (max_drain_seconds), every scripted processing delay (one per 3-s segment
 * for those fired on every segment), and throttled events; times the reconnects a session-ending
 * fault allows. An upload: every scripted delay and Retry-After, for every retry.
 */
export function caseTimeoutMs(testCase: ConformanceCase, maxDrainSeconds: number): number {
  const faults = testCase.scenario.faults ?? [];
  if (caseTransport(testCase) === 'upload') {
    const delays = faults.reduce((sum, f) => sum + (f.action === 'delay' ? (f.seconds ?? 0) * 1000 : 0), 0);
    const retryAfter = Math.max(1, ...faults.map((f) => (f.action === 'error' ? (f.retry_after_seconds ?? 1) : 1)));
    return CLIENT_ALLOWANCE_MS + delays + MAX_RECONNECTS * (retryAfter * 1000 + BACKOFF_ALLOWANCE_MS);
  }
  const segments = Math.ceil(testCase.mediaSeconds / 3);
  const delays = faults.reduce((sum, f) => sum + (f.action === 'delay' ? (f.seconds ?? 0) * 1000 * (f.windows ?? 1) * (f.when?.every_segment ? segments : 1) : 0), 0);
  const throttled = faults.reduce((sum, f) => {
    if (f.action !== 'throttle') return sum;
    const ms = (THROTTLED_EVENT_BYTES / Math.max(1, f.bytes_per_second ?? 1)) * 1000;
    return sum + Math.min(ms, (f.seconds ?? Infinity) * 1000 + 1000);
  }, 0);
  const session = testCase.mediaSeconds * 1000 + maxDrainSeconds * 1000 + delays + throttled;
  // After a drop or an error close (1006, 1011, 4000, …) a client may connect again, with backoff.
  const mayReconnect = faults.some((f) => f.action === 'disconnect' || f.action === 'close' || (f.action === 'error' && f.close === true && f.code !== 'ih2003' && f.code !== 'ih3003'));
  const sessions = mayReconnect ? 1 + MAX_RECONNECTS : 1;
  return CLIENT_ALLOWANCE_MS + sessions * session + (sessions - 1) * BACKOFF_ALLOWANCE_MS;
}

/** Copy a case's recording (and observation file) into `folder`; returns the recording's path. */
function keepRecording(folder: string, caseId: string, recordingPath: string, observationsPath: string): string {
  mkdirSync(folder, { recursive: true });
  const name = caseId.replace(/[^\w.-]/g, '_');
  const kept = join(folder, `${name}.wire.jsonl`);
  copyFileSync(recordingPath, kept);
  if (existsSync(observationsPath)) copyFileSync(observationsPath, join(folder, `${name}.observations.jsonl`));
  return kept;
}

/** How much of a client's output a result keeps: its last characters. */
const OUTPUT_TAIL = 4000;
const STDERR_TAIL = 2000;
const OUTPUT_DRAIN_MS = 1000;

/** Run the client; resolves with its exit code (null: stopped at the timeout) and the tails of its output. */
export async function runClient(client: ClientUnderTest, env: ClientEnv, timeoutMs: number): Promise<{ exitCode: number | null; output: string; stderr: string }> {
  if ('run' in client) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
    try {
      const exitCode = await Promise.race([client.run(env), timeout]);
      return { exitCode, output: '', stderr: '' };
    } finally {
      clearTimeout(timer);
    }
  }
  return new Promise((resolve, reject) => {
    // Its own process group, so a stop reaches everything the command started.
    const child = spawn(client.command, { shell: true, detached: true, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stderr = '';
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-OUTPUT_TAIL));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-STDERR_TAIL)));
    let stopped = false;
    const timer = setTimeout(() => {
      stopped = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // 'close' comes once the output pipes are drained (the last lines of a crash included); a
    // background process the client left behind may hold them open, so wait for it briefly only.
    child.on('exit', (code) => {
      clearTimeout(timer);
      const done = () => resolve({ exitCode: stopped ? null : code, output, stderr });
      const drained = setTimeout(done, OUTPUT_DRAIN_MS);
      child.on('close', () => {
        clearTimeout(drained);
        done();
      });
    });
  });
}

export interface CatalogueResult {
  results: CaseResult[];
  counts: Record<Verdict, number>;
  durationMs: number;
}

/**
 * How many cases (or generated property runs) to run at once by default. A command (the CLI): as
 * many as CPU cores, and at least 4. A case mostly waits (scripted delays and Retry-After, the
 * client's pace): 4 at a time is what makes the catalogue last about as long as its longest case
 * (6.3's 8 s); a command also costs a process start each time, which keeps the CPU busy.
 *
 * A function (in-process: vitest, jest) starts no process: a case is then an emulator, a proxy and
 * the client's sockets in this process, and measured on `npm run bench` a generated property run
 * costs this process about 40–100 ms of CPU over the 1–5 s it mostly spends waiting (answer delays,
 * Retry-After, the second before a retry), so twice as many, at least 8, still leave the CPU
 * mostly idle. A client function run several at once must be able to run several sessions at once.
 */
export function defaultConcurrency(client?: ClientUnderTest): number {
  const cores = availableParallelism();
  return client !== undefined && 'run' in client ? Math.max(IN_PROCESS_MIN_CONCURRENCY, 2 * cores) : Math.max(4, cores);
}

/** The fewest cases at once `defaultConcurrency` gives a client function. */
const IN_PROCESS_MIN_CONCURRENCY = 8;

/**
 * How long a case's own script keeps a correct client waiting, at least (ms): its processing
 * delays, its wall-clock triggers and, for an upload, the wait before each retry a correct client
 * makes (Retry-After, else 1 s, after a 429 for rate or concurrency, a 5xx or a cut connection).
 * What the rest takes is short in comparison. Only an estimate for the start order: a stream
 * session that ends early skips its later delays.
 */
export function scriptedWaitMs(testCase: ConformanceCase): number {
  const upload = caseTransport(testCase) === 'upload';
  const segments = Math.ceil(testCase.mediaSeconds / 3);
  let ms = 0;
  for (const f of testCase.scenario.faults ?? []) {
    if (f.action === 'delay') ms += (f.seconds ?? 0) * 1000 * (f.windows ?? 1) * (f.when?.every_segment ? segments : 1);
    if (upload && (f.action === 'disconnect' || (f.action === 'error' && f.code !== undefined && isRetriedUploadError(f.code)))) ms += (f.retry_after_seconds ?? 1) * 1000;
    else if (f.action === 'error' && f.retry_after_seconds !== undefined) ms += f.retry_after_seconds * 1000;
    if (f.when?.wall_seconds !== undefined) ms = Math.max(ms, f.when.wall_seconds * 1000);
  }
  return ms;
}

/** An upload error a correct client tries again after (a 429 for rate or concurrency, a 5xx). */
function isRetriedUploadError(code: ErrorCode): boolean {
  return code === 'ih3001' || code === 'ih3002' || httpStatus(code) >= 500;
}

/**
 * The order to start `cases` in when several run at once: the longest scripted waits first
 * (catalogue order among equals), so the run does not end waiting on one long case started last.
 */
export function startOrder<T extends ConformanceCase>(cases: readonly T[]): T[] {
  return cases.map((c, i) => ({ c, i, wait: scriptedWaitMs(c) })).sort((a, b) => b.wait - a.wait || a.i - b.i).map((x) => x.c);
}

/**
 * Run cases, `concurrency` at a time (default 1: one after another; each case has its own emulator,
 * proxy and ports, so cases never share state), the longest first (startOrder); `onResult` is called
 * as each finishes (progress). Results come back in the order of `cases`.
 */
export async function runCatalogue(cases: readonly ConformanceCase[], options: RunCaseOptions & { onResult?: (r: CaseResult) => void; concurrency?: number }): Promise<CatalogueResult> {
  const started = Date.now();
  const results: CaseResult[] = new Array<CaseResult>(cases.length);
  const order = startOrder(cases.map((testCase, i) => ({ ...testCase, i })));
  let next = 0;
  const worker = async () => {
    while (next < order.length) {
      const { i } = order[next++]!;
      results[i] = await runCase(cases[i]!, options);
      options.onResult?.(results[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 1, cases.length)) }, worker));
  const counts: Record<Verdict, number> = { OK: 0, 'NON-STRICT': 0, FAILED: 0, INFORMATIONAL: 0 };
  for (const r of results) counts[r.verdict]++;
  return { results, counts, durationMs: Date.now() - started };
}

/** A one-case run of a scenario (property runs, a shrunk reproducer, a user's own scenario file). */
export function scenarioCase(id: string, scenario: Scenario, transport: Transport = 'stream', mediaSeconds: 12 | 24 = 24): ConformanceCase {
  return { id, title: `scenario ${scenario.name} (${transport})`, description: scenario.description ?? '', scenario, transport, mediaSeconds, stresses: [] };
}

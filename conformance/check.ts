/**
 * `ih-mock check FILE... | ws(s)://URL --key KEY`: apply the server invariants to every stream session
 * and every upload of recordings (the shared recording format, docs/recording.md), or to a live
 * server, which the kit drives with its reference client through the recording proxy: one stream
 * session with a sample file, then one upload of it. Prints one
 * line per violation, naming the source, the session, the frame and the invariant; exits 1 if any
 * error-severity invariant was violated.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { RealClock } from '../server/clock.js';
import { PACKAGE_ROOT } from '../server/paths.js';
import { createRecorder } from '../server/record/proxy.js';
import { readRecording, RecordingError } from '../server/record/reader.js';
import { sampleMedia } from './runner.js';
import { checkTrace, SERVER_INVARIANTS, severityOf, type CheckResult } from './invariants.js';
import { tracesFromRecording } from './trace.js';
import { checkUpload, UPLOAD_SERVER_INVARIANTS } from './upload-server-invariants.js';
import { uploadsFromRecording } from './uploads.js';
import { CommandUsageError, type CliIo } from '../server/cli/io.js';

const ALL_SERVER_INVARIANTS = [...SERVER_INVARIANTS, ...UPLOAD_SERVER_INVARIANTS];

export class CheckUsageError extends CommandUsageError {
  override name = 'CheckUsageError';
}


/** Check recordings; returns the results (for tests) and the exit code. */
export function checkRecordings(files: readonly string[]): { results: CheckResult[]; problems: string[] } {
  const results: CheckResult[] = [];
  const problems: string[] = [];
  for (const file of files) {
    let recording;
    try {
      recording = readRecording(file);
    } catch (err) {
      if (err instanceof RecordingError) {
        problems.push(err.message);
        continue;
      }
      throw err;
    }
    for (const p of recording.problems) problems.push(`${file}:${p.line}: ${p.message}`);
    for (const trace of tracesFromRecording(recording)) results.push(checkTrace(trace));
    for (const upload of uploadsFromRecording(recording)) results.push(checkUpload(upload));
  }
  return { results, problems };
}

/**
 * Drive a live server with the reference client (the 24-s sample, a config frame, a graceful close)
 * through the recording proxy, then check what it sent.
 */
export async function checkLive(url: string, key: string): Promise<{ results: CheckResult[]; problems: string[] }> {
  const target = new URL(url);
  if (target.protocol !== 'ws:' && target.protocol !== 'wss:') throw new CheckUsageError(`expected a ws:// or wss:// stream URL, got ${url}`);
  const upstream = `${target.protocol === 'wss:' ? 'https' : 'http'}://${target.host}`;
  const dir = mkdtempSync(join(tmpdir(), 'ih-mock-check-'));
  const file = join(dir, 'live.jsonl');
  const recorder = createRecorder({ upstream, out: file, withMedia: false, recorder: 'ih-mock check', host: '127.0.0.1', port: 0, clock: new RealClock(), logger: pino({ level: 'silent' }) });
  const base = await recorder.listen();
  const media = sampleMedia(24);
  const env = { ...process.env, IH_STREAM_URL: `${base.replace(/^http/, 'ws')}${target.pathname}${target.search}`, IH_API_BASE_URL: base, IH_API_KEY: key, IH_MEDIA_FILE: media.file, IH_MEDIA_SEGMENTS: media.segments.join('\n'), IH_MEDIA_SECONDS: '24', IH_CASE: 'check' };
  // The real upload answers in minutes: it gets up to 5 (the stream about 30 s of media, in real time or faster).
  for (const [transport, limitMs] of [['stream', 120_000], ['upload', 300_000]] as const) {
    await new Promise<void>((resolve) => {
      const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'conformance', 'clients', 'reference.mjs')], { env: { ...env, IH_TRANSPORT: transport }, stdio: 'ignore' });
      const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
      child.on('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  await recorder.settled(2000); // the last frames and closes pass the proxy and are recorded
  await recorder.close();
  const checked = checkRecordings([file]);
  rmSync(dir, { recursive: true, force: true });
  const source = `${target.origin}${target.pathname}`;
  return { results: checked.results.map((r) => ({ ...r, source: `${source} (${r.source.replace(/^.*#/, '')})` })), problems: checked.problems };
}

/** `ih-mock check`, its command line parsed (`server/cli/check.ts`): recording files or one stream URL. */
export async function runCheck({ files, key, json }: { files: string[]; key?: string; json: boolean }, io: CliIo): Promise<number> {
  if (files.length === 0) throw new CheckUsageError('check needs recording files (ih-mock record writes them) or a ws(s):// stream URL with --key');
  const live = files.filter((f) => /^wss?:\/\//.test(f));
  if (live.length > 0 && (live.length !== 1 || files.length !== 1)) throw new CheckUsageError('check takes either recording files or one stream URL');
  if (live.length === 1 && !key) throw new CheckUsageError('checking a live server needs --key <API key> (sent as Authorization: Bearer)');
  const { results, problems } = live.length === 1 ? await checkLive(live[0]!, key!) : checkRecordings(files);
  const errors = results.reduce((n, r) => n + r.violations.filter((v) => severityOf(v.invariant, ALL_SERVER_INVARIANTS) === 'error').length, 0);
  if (json) {
    io.out(`${JSON.stringify({ results, problems }, null, 2)}\n`);
  } else {
    for (const p of problems) io.err(`${p}\n`);
    for (const r of results) {
      if (r.violations.length === 0) io.out(`${r.source}: ok (${r.checked.length} invariants)\n`);
      for (const v of r.violations) io.out(`${r.source}: ${v.frame === null ? 'session' : `frame ${v.frame}`}: ${severityOf(v.invariant, ALL_SERVER_INVARIANTS) === 'error' ? 'FAILED' : 'warning'} ${v.invariant}: ${v.message}\n`);
    }
    io.out(`${results.length} session(s) and upload(s) checked, ${errors} error(s)\n`);
  }
  const unreadable = problems.length > 0 && results.length === 0;
  return errors > 0 || unreadable ? 1 : 0;
}

/**
 * `ih-mock check FILE... | ws(s)://URL --key KEY [--timeout S]`: apply the server invariants to every
 * stream session and every upload of recordings (the shared recording format, docs/recording.md),
 * or to a live server, which the kit drives with its reference client through the recording proxy:
 * one stream session with a sample file, then one upload of it. Prints one line per violation,
 * naming the source, the session, the frame and the invariant.
 *
 * A checking tool never says "ok" about what it could not check. Every part ends in one of:
 * checked (ok, or violations), NOT CHECKED (the recording or the live server did not let it verify
 * something it should have: an unreadable file or line, a session the recording stops in the middle
 * of, an answer the upstream never gave, and live: a refused upgrade, a session that did not reach
 * session.ended, an upload not answered 200, the time limit), or SKIPPED (a recorded exchange with no
 * server behaviour the invariants cover: a refused upgrade in a file, a client that left before the
 * answer). Exit codes (CHECK_EXIT): 0 all checked and no error-severity violation; 1 a violation;
 * 2 bad usage; 3 could not check (no violation, but something was not checked), with a one-line reason.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { RealClock } from '../server/clock.js';
import { PACKAGE_ROOT } from '../server/paths.js';
import { CLIENT_CLOSED_STATUS } from '../server/record/format.js';
import { createRecorder } from '../server/record/proxy.js';
import { readRecording, RecordingError, type RecordedExchange, type RecordedStream, type Recording } from '../server/record/reader.js';
import { sampleMedia } from './runner.js';
import { checkTrace, SERVER_INVARIANTS, severityOf, type CheckResult } from './invariants.js';
import { traceFromRecordedStream, type Trace } from './trace.js';
import { checkUpload, UPLOAD_SERVER_INVARIANTS } from './upload-server-invariants.js';
import { UPLOAD_PATH, uploadsFromRecording, type UploadExchange } from './uploads.js';
import { CommandUsageError, type CliIo } from '../server/cli/io.js';

const ALL_SERVER_INVARIANTS = [...SERVER_INVARIANTS, ...UPLOAD_SERVER_INVARIANTS];

/** Exit codes of `ih-mock check`. */
export const CHECK_EXIT = { ok: 0, failed: 1, usage: 2, notChecked: 3 } as const;

/** How long a live check may take in all, by default (seconds): a real upload is answered in 1-3 minutes. */
export const DEFAULT_LIVE_TIMEOUT_SECONDS = 300;

export class CheckUsageError extends CommandUsageError {
  override name = 'CheckUsageError';
}

/** A part that was not (fully) verified, and why, in one line. */
export interface Unchecked {
  source: string;
  reason: string;
}

export interface CheckReport {
  /** Invariants applied to each session and upload that could be checked. */
  results: CheckResult[];
  /** What was wrong with the files themselves (unreadable, lines skipped). */
  problems: string[];
  /** Parts that could not be verified (a result may also be listed here when it was checked only in part). */
  notChecked: Unchecked[];
  /** Recorded exchanges with no server behaviour the invariants cover. */
  skipped: Unchecked[];
}

export type CheckOutcome = 'ok' | 'failed' | 'not-checked';

/** The outcome of a report: a violation wins; then anything not checked; else ok. */
export function checkOutcome(report: CheckReport): CheckOutcome {
  if (errorCount(report) > 0) return 'failed';
  return report.notChecked.length > 0 ? 'not-checked' : 'ok';
}

function errorCount(report: CheckReport): number {
  return report.results.reduce((n, r) => n + r.violations.filter((v) => severityOf(v.invariant, ALL_SERVER_INVARIANTS) === 'error').length, 0);
}

/** Check recordings. */
export function checkRecordings(files: readonly string[]): CheckReport {
  const report: CheckReport = { results: [], problems: [], notChecked: [], skipped: [] };
  for (const file of files) {
    let recording: Recording;
    try {
      recording = readRecording(file);
    } catch (err) {
      if (!(err instanceof RecordingError)) throw err;
      report.problems.push(err.message);
      report.notChecked.push({ source: file, reason: 'the file could not be read as a recording' });
      continue;
    }
    for (const p of recording.problems) report.problems.push(`${file}:${p.line}: ${p.message}`);
    if (recording.problems.length > 0) report.notChecked.push({ source: file, reason: `${recording.problems.length} line(s) could not be read, so what they held was not checked` });
    const before = report.results.length;
    checkSessions(recording, report);
    if (report.results.length === before) report.notChecked.push({ source: file, reason: recording.sessions.length === 0 ? 'nothing to check: no stream session or upload in it' : 'no stream session or upload in it could be checked' });
  }
  return report;
}

/** Every stream session and upload of one recording, into `report`. */
function checkSessions(recording: Recording, report: CheckReport): void {
  const sourceOf = (session: number) => `${recording.source}#session ${session}`;
  for (const stream of recording.sessions.filter((s): s is RecordedStream => s.kind === 'stream')) {
    const source = sourceOf(stream.session);
    const open = stream.open;
    if (open.kind === 'ws.refused') {
      if (open.by === 'recorder') report.notChecked.push({ source, reason: `the upstream was not reached: the recorder answered the upgrade ${open.status} (${ownMessage(open.body)})` });
      else report.skipped.push({ source, reason: `the upgrade was refused with HTTP ${open.status}${errorIdOf(open.body) ? ` (${errorIdOf(open.body)})` : ''}: no session to check` });
      continue;
    }
    const trace = traceFromRecordedStream(stream, source);
    report.results.push(checkTrace(trace));
    if (!trace.frames.some((f) => f.kind === 'close')) report.notChecked.push({ source, reason: 'the recording stops before this session closed: checked up to its last frame only' });
  }
  const bySession = new Map(recording.sessions.filter((s): s is RecordedExchange => s.kind === 'http').map((s) => [sourceOf(s.session), s]));
  for (const upload of uploadsFromRecording(recording)) {
    const why = uploadNotCheckable(upload, bySession.get(upload.source));
    if (why?.kind === 'skipped') report.skipped.push({ source: upload.source, reason: why.reason });
    else if (why) report.notChecked.push({ source: upload.source, reason: why.reason });
    else report.results.push(checkUpload(upload));
  }
}

/** Why an upload has no server answer to check, or null when it has one. */
function uploadNotCheckable(upload: UploadExchange, exchange: RecordedExchange | undefined): { kind: 'skipped' | 'not-checked'; reason: string } | null {
  const answer = upload.answer;
  if (answer.kind === 'none') return { kind: 'not-checked', reason: 'the recording stops before the answer' };
  if (answer.kind === 'abandoned') return { kind: 'skipped', reason: 'the client closed the connection before the answer' };
  const response = exchange?.response;
  const byRecorder = response?.by === 'recorder' || (answer.status === 502 && answer.json === null); // older recordings: the proxy's 502 has no JSON body
  if (!byRecorder) return null;
  if (answer.status === 502 || answer.status === 504) return { kind: 'not-checked', reason: `no answer from the upstream: ${rawTextOf(response) ?? ownMessage(JSON.stringify(answer.json))}` };
  return { kind: 'skipped', reason: `the client's request broke off; the recorder answered ${answer.status === CLIENT_CLOSED_STATUS ? 'nothing' : answer.status}` };
}

function rawTextOf(response: RecordedExchange['response']): string | undefined {
  return response?.body?.kind === 'raw' ? response.body.text?.replace(/^\[|\]$/g, '') : undefined;
}

function errorIdOf(body: string): string | null {
  try {
    const id = (JSON.parse(body) as { error_id?: unknown } | null)?.error_id;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

/** The message of one of the recorder's own v1 answers, without its prefix. */
function ownMessage(body: string): string {
  try {
    const message = (JSON.parse(body) as { message?: unknown } | null)?.message;
    if (typeof message === 'string') return message.replace(/^ih-mock record: /, '');
  } catch {
    // not JSON
  }
  return body;
}

/**
 * Drive a live server with the reference client (the 24-s sample, a config frame, a graceful close;
 * then one upload of the sample) through the recording proxy, then check what it sent. Both parts
 * together take at most `timeoutSeconds`; a part that could not be verified (the upgrade refused,
 * the session not ended, the upload not answered 200, the time ran out) is reported as not checked.
 */
export async function checkLive(url: string, key: string, timeoutSeconds = DEFAULT_LIVE_TIMEOUT_SECONDS): Promise<CheckReport> {
  const target = new URL(url);
  if (target.protocol !== 'ws:' && target.protocol !== 'wss:') throw new CheckUsageError(`expected a ws:// or wss:// stream URL, got ${url}`);
  const upstream = `${target.protocol === 'wss:' ? 'https' : 'http'}://${target.host}`;
  const dir = mkdtempSync(join(tmpdir(), 'ih-mock-check-'));
  try {
    const file = join(dir, 'live.jsonl');
    const recorder = createRecorder({ upstream, out: file, withMedia: false, recorder: 'ih-mock check', host: '127.0.0.1', port: 0, clock: new RealClock(), logger: pino({ level: 'silent' }) });
    const base = await recorder.listen();
    const media = sampleMedia(24);
    const env = { ...process.env, IH_STREAM_URL: `${base.replace(/^http/, 'ws')}${target.pathname}${target.search}`, IH_API_BASE_URL: base, IH_API_KEY: key, IH_MEDIA_FILE: media.file, IH_MEDIA_SEGMENTS: media.segments.join('\n'), IH_MEDIA_SECONDS: '24', IH_CASE: 'check' };
    const deadline = Date.now() + timeoutSeconds * 1000;
    const timedOut = new Set<'stream' | 'upload'>();
    for (const transport of ['stream', 'upload'] as const) {
      const left = deadline - Date.now();
      if (left <= 0) {
        timedOut.add(transport);
        continue;
      }
      await new Promise<void>((resolve) => {
        const child = spawn(process.execPath, [join(PACKAGE_ROOT, 'conformance', 'clients', 'reference.mjs')], { env: { ...env, IH_TRANSPORT: transport }, stdio: 'ignore' });
        const timer = setTimeout(() => {
          timedOut.add(transport);
          child.kill('SIGKILL');
        }, left);
        child.on('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await recorder.settled(2000); // the last frames and closes pass the proxy and are recorded
    await recorder.close();
    const source = `${target.origin}${target.pathname}`;
    const checked = checkRecordings([file]);
    // What was not checked is judged by part (a stream session through to session.ended, an upload
    // answered 200): in a live check a refused upgrade or an unanswered upload is the check failing
    // to get through, not an exchange to skip.
    return {
      results: checked.results.map((r) => ({ ...r, source: `${source} (${r.source.replace(/^.*#/, '')})` })),
      problems: checked.problems,
      notChecked: livePartsNotChecked(readRecording(file), source, timedOut, timeoutSeconds),
      skipped: [],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the live check's two parts failed to verify: a stream session through to session.ended, an upload answered 200. */
function livePartsNotChecked(recording: Recording, source: string, timedOut: ReadonlySet<'stream' | 'upload'>, timeoutSeconds: number): Unchecked[] {
  const out: Unchecked[] = [];
  const late = `within the time limit (--timeout ${timeoutSeconds} s)`;
  const streams = recording.sessions.filter((s): s is RecordedStream => s.kind === 'stream');
  const opened = streams.filter((s) => s.open.kind === 'ws.open');
  const refused = streams.find((s) => s.open.kind === 'ws.refused');
  if (opened.length === 0) {
    const open = refused?.open;
    const reason =
      open?.kind === 'ws.refused'
        ? open.by === 'recorder'
          ? ownMessage(open.body)
          : `the upgrade was refused with HTTP ${open.status}${errorIdOf(open.body) ? ` (${errorIdOf(open.body)})` : ''}${open.status === 401 || open.status === 403 ? ': is --key right?' : ''}`
        : timedOut.has('stream')
          ? `no answer to the upgrade ${late}`
          : 'no connection reached the server';
    out.push({ source: `${source} (stream)`, reason });
  } else {
    const last = opened[opened.length - 1]!;
    const trace = traceFromRecordedStream(last, '');
    if (!endedGracefully(trace)) out.push({ source: `${source} (session ${last.session})`, reason: `the stream session did not reach session.ended ${timedOut.has('stream') ? late : `(${howItEnded(trace)})`}: the rest of the session was not checked` });
  }
  const uploads = recording.sessions.filter((s): s is RecordedExchange => s.kind === 'http' && s.request.path === UPLOAD_PATH);
  const lastUpload = uploads[uploads.length - 1];
  if (!lastUpload) {
    out.push({ source: `${source} (upload)`, reason: timedOut.has('upload') ? `the upload: not sent, the time limit (--timeout ${timeoutSeconds} s) ran out first` : 'the upload: no request reached the server' });
  } else if (lastUpload.response?.status !== 200) {
    const response = lastUpload.response;
    const json = response?.body?.kind === 'json' ? (response.body.json as { error_id?: unknown; message?: unknown } | null) : null;
    const code = typeof json?.error_id === 'string' ? ` (${json.error_id})` : '';
    const reason = !response
      ? `the upload: no answer ${late}`
      : response.by === 'recorder'
        ? `the upload: ${response.body?.kind === 'json' ? ownMessage(JSON.stringify(response.body.json)) : (rawTextOf(response) ?? `the recorder answered ${response.status}`)}`
        : `the upload was answered ${response.status}${code}${response.status === 401 || response.status === 403 ? ': is --key right?' : ''}; the analysis was not checked`;
    out.push({ source: `${source} (session ${lastUpload.session})`, reason });
  }
  return out;
}

function endedGracefully(trace: Trace): boolean {
  return trace.frames.some((f) => f.from === 'server' && f.kind === 'text' && f.event?.type === 'session.ended');
}

function howItEnded(trace: Trace): string {
  const close = trace.frames.find((f) => f.kind === 'close');
  const error = trace.frames.find((f) => f.from === 'server' && f.kind === 'text' && f.event?.type === 'error');
  const code = error?.kind === 'text' && error.from === 'server' ? (error.event?.data as { code?: unknown } | undefined)?.code : undefined;
  const closed = close?.kind === 'close' ? `closed by the ${close.from} with ${close.code}` : 'no close recorded';
  return typeof code === 'string' ? `${closed}, after error ${code}` : closed;
}

/** `ih-mock check`, its command line parsed (`server/cli/check.ts`): recording files or one stream URL. */
export async function runCheck({ files, key, json, timeout: timeoutFlag }: { files: string[]; key?: string; json: boolean; timeout?: number }, io: CliIo): Promise<number> {
  const values = { key, json, timeout: timeoutFlag };
  if (files.length === 0) throw new CheckUsageError('check needs recording files (ih-mock record writes them) or a ws(s):// stream URL with --key');
  const live = files.filter((f) => /^wss?:\/\//.test(f));
  if (live.length > 0 && (live.length !== 1 || files.length !== 1)) throw new CheckUsageError('check takes either recording files or one stream URL');
  if (live.length === 1 && !values.key) throw new CheckUsageError('checking a live server needs --key <API key> (sent as Authorization: Bearer)');
  const timeout = values.timeout === undefined ? DEFAULT_LIVE_TIMEOUT_SECONDS : Number(values.timeout);
  if (!(timeout > 0) || !Number.isFinite(timeout)) throw new CheckUsageError(`--timeout expects a positive number of seconds, got "${String(values.timeout)}"`);
  if (values.timeout !== undefined && live.length === 0) throw new CheckUsageError('--timeout bounds a live check (a ws(s):// URL); checking files needs none');
  const report = live.length === 1 ? await checkLive(live[0]!, values.key!, timeout) : checkRecordings(files);
  const outcome = checkOutcome(report);
  if (values.json) {
    io.out(`${JSON.stringify({ outcome, ...report }, null, 2)}\n`);
  } else {
    printReport(report, io);
  }
  return outcome === 'failed' ? CHECK_EXIT.failed : outcome === 'not-checked' ? CHECK_EXIT.notChecked : CHECK_EXIT.ok;
}

function printReport(report: CheckReport, io: CliIo): void {
  for (const p of report.problems) io.err(`${p}\n`);
  const partial = new Map(report.notChecked.map((n) => [n.source, n.reason]));
  for (const r of report.results) {
    for (const v of r.violations) io.out(`${r.source}: ${v.frame === null ? 'session' : `frame ${v.frame}`}: ${severityOf(v.invariant, ALL_SERVER_INVARIANTS) === 'error' ? 'FAILED' : 'warning'} ${v.invariant}: ${v.message}\n`);
    const reason = partial.get(r.source);
    if (reason !== undefined) io.out(`${r.source}: NOT CHECKED: ${reason}${r.violations.length === 0 ? ` (no violation in what was recorded, ${r.checked.length} invariants)` : ''}\n`);
    else if (r.violations.length === 0) io.out(`${r.source}: ok (${r.checked.length} invariants)\n`);
  }
  const resultSources = new Set(report.results.map((r) => r.source));
  for (const n of report.notChecked) if (!resultSources.has(n.source)) io.out(`${n.source}: NOT CHECKED: ${n.reason}\n`);
  for (const s of report.skipped) io.out(`${s.source}: skipped: ${s.reason}\n`);
  const errors = errorCount(report);
  const fully = report.results.filter((r) => !partial.has(r.source)).length;
  io.out(`${fully} session(s) and upload(s) checked, ${report.notChecked.length} not checked, ${report.skipped.length} skipped, ${errors} error(s)\n`);
  if (checkOutcome(report) === 'not-checked') io.out(`could not check: ${report.notChecked[0]!.source}: ${report.notChecked[0]!.reason}\n`);
}

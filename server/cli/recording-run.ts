/**
 * What the recording commands do once their command line is parsed (`record.ts`, `replay.ts`,
 * `scenarios.ts` define and check their flags; the values arrive here by flag name, converted):
 *
 *   ih-mock record --upstream <base URL> [--out FILE] [--with-media] [--label TEXT] [--host H] [--port N]
 *   ih-mock replay FILE [--speed X | --pace media] [--report FILE] [--seed N] [--host H] [--port N]
 *   ih-mock scenarios from-recording FILE [--session N] [--out FILE]
 *
 * record and replay serve until SIGINT/SIGTERM; replay then exits 1 if the client diverged from the
 * recording (0 otherwise). Bad usage exits 2 with one line on stderr.
 */
import { writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { RealClock } from '../clock.js';
import { packageVersion } from '../paths.js';
import { Random } from '../random.js';
import { extractScenarioWithNotes } from '../record/extract.js';
import { createRecorder } from '../record/proxy.js';
import { readRecording, RecordingError, serverEvents, type RecordedStream } from '../record/reader.js';
import { createReplayServer, DEFAULT_CLIENT_IDLE_MS, type Divergence, type ReplayPace } from '../record/replay.js';
import { scenarioFromObject } from '../../scenarios/loader.js';
import { CommandUsageError, type CliIo } from './io.js';
import { listenOrExplain, withStopSignal } from './serving.js';

export class RecordUsageError extends CommandUsageError {
  override name = 'RecordUsageError';
}

/** Flag values by flag name, converted and checked by the command's definitions. */
type Values = Record<string, unknown>;

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 4747;

export async function runRecord(values: Values, io: CliIo): Promise<number> {
  const upstream = values['upstream'];
  if (typeof upstream !== 'string') throw new RecordUsageError('record needs --upstream <base URL>, e.g. --upstream https://api.interhuman.ai');
  const host = typeof values['host'] === 'string' ? values['host'] : DEFAULT_HOST;
  const port = typeof values['port'] === 'number' ? values['port'] : DEFAULT_PORT;
  const clock = new RealClock();
  const out = typeof values['out'] === 'string' ? values['out'] : `ih-mock-recording-${new Date(clock.now()).toISOString().replace(/[:.]/g, '-')}.jsonl`;
  const logger = pino({ level: typeof values['log-level'] === 'string' ? values['log-level'] : 'info', base: { service: 'ih-mock record' } }, pino.destination(2));
  let recorder: ReturnType<typeof createRecorder>;
  try {
    recorder = createRecorder({
      upstream,
      out,
      withMedia: values['with-media'] === true,
      ...(typeof values['label'] === 'string' ? { label: values['label'] } : {}),
      recorder: `ih-mock ${packageVersion()}`,
      host,
      port,
      clock,
      logger,
    });
  } catch (err) {
    throw new RecordUsageError((err as Error).message);
  }
  return withStopSignal(async (stopped) => {
    const base = await listenOrExplain(() => recorder.listen(), { host, port }).catch(async (err: unknown) => {
      await recorder.close();
      throw err;
    });
    io.out(`ih-mock record ready at ${base}\n  forwarding to: ${new URL(upstream).origin}\n  recording to:  ${out}${recorder.writer.sidecarPath ? ` (media in ${recorder.writer.sidecarPath})` : ''}\n  credentials are redacted before anything is written; stop with Ctrl-C\n`);
    await stopped;
    await recorder.close();
    io.err(`ih-mock record: wrote ${out}\n`);
    return 0;
  });
}

export async function runReplay(values: Values, file: string, io: CliIo): Promise<number> {
  const host = typeof values['host'] === 'string' ? values['host'] : DEFAULT_HOST;
  const port = typeof values['port'] === 'number' ? values['port'] : DEFAULT_PORT;
  let pace: ReplayPace = { mode: 'recorded', speed: 1 };
  if (values['pace'] === 'media') {
    if (values['speed'] !== undefined) throw new RecordUsageError('--speed and --pace media exclude each other');
    pace = { mode: 'media' };
  } else if (typeof values['speed'] === 'number') {
    pace = { mode: 'recorded', speed: values['speed'] };
  }
  const recording = loadRecording(file, io);
  const logger = pino({ level: typeof values['log-level'] === 'string' ? values['log-level'] : 'silent', base: { service: 'ih-mock replay' } }, pino.destination(2));
  const replay = createReplayServer({
    recording,
    pace,
    host,
    port,
    clock: new RealClock(),
    random: new Random(Number(values['seed'] ?? 0) >>> 0),
    logger,
    onDivergence: (d) => io.err(`ih-mock replay: ${formatDivergence(d)}\n`),
    clientIdleMs: (typeof values['client-idle'] === 'number' ? values['client-idle'] : DEFAULT_CLIENT_IDLE_MS / 1000) * 1000,
  });
  return withStopSignal(async (stopped) => {
    const base = await listenOrExplain(() => replay.listen(), { host, port });
    const streams = recording.sessions.filter((s) => s.kind === 'stream').length;
    const exchanges = recording.sessions.length - streams;
    io.out(
      `ih-mock replay ready at ${base}\n  stream: ${base.replace(/^http/, 'ws')}/v1/stream/analyze (${streams} recorded stream session${streams === 1 ? '' : 's'}, served in order; ?session=N picks one)\n  http:   ${exchanges} recorded exchange${exchanges === 1 ? '' : 's'}\n  pace:   ${pace.mode === 'media' ? 'by the client\'s media' : `as recorded${pace.speed !== 1 ? `, ${pace.speed}x` : ''}`}\n`,
    );
    await stopped;
    await replay.close();
    if (typeof values['report'] === 'string') writeFileSync(values['report'], `${JSON.stringify({ recording: file, divergences: replay.divergences }, null, 2)}\n`);
    io.err(`ih-mock replay: ${replay.divergences.length} divergence${replay.divergences.length === 1 ? '' : 's'}\n`);
    return replay.divergences.length === 0 ? 0 : 1;
  });
}

export function runFromRecording(values: Values, file: string, io: CliIo): number {
  const recording = loadRecording(file, io);
  const streams = recording.sessions.filter((s): s is RecordedStream => s.kind === 'stream' && s.open.kind === 'ws.open');
  const wanted = values['session'];
  const stream = wanted === undefined ? streams[0] : streams.find((s) => s.session === wanted);
  if (!stream) throw new RecordUsageError(wanted === undefined ? `${file} has no stream session to reconstruct` : `${file} has no stream session ${String(wanted)} (it has ${streams.map((s) => s.session).join(', ') || 'none'})`);
  const mediaEnd = stream.records.reduce((sum, r) => sum + (r.kind === 'ws.client.binary' ? (r.media_seconds ?? 0) : 0), 0);
  const name = typeof values['name'] === 'string' ? values['name'] : `from-recording-session-${stream.session}`;
  const { scenario, notes } = extractScenarioWithNotes(serverEvents(stream), { name, mediaEnd, description: `Reconstructed by ih-mock scenarios from-recording from session ${stream.session} of ${file} (${recording.header.upstream}, recorded ${recording.header.created}).` });
  scenarioFromObject(scenario, name); // refuse to write anything the loader would refuse
  const yaml = `# Reconstructed from ${file}, session ${stream.session}; check it with: ih-mock validate <this file>\n${stringify(scenario, { lineWidth: 100 })}`;
  for (const note of notes) io.err(`ih-mock scenarios from-recording: note: ${note}\n`);
  if (typeof values['out'] === 'string') {
    try {
      writeFileSync(values['out'], yaml);
    } catch (err) {
      throw new RecordUsageError(`cannot write ${values['out']}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    io.err(`wrote ${name} to ${values['out']}\n`);
  } else {
    io.out(yaml);
  }
  return 0;
}

function loadRecording(file: string, io: CliIo) {
  try {
    const recording = readRecording(file);
    for (const problem of recording.problems) io.err(`${file}:${problem.line}: ${problem.message}\n`);
    return recording;
  } catch (err) {
    if (err instanceof RecordingError) throw new RecordUsageError(err.message);
    throw err;
  }
}

export function formatDivergence(d: Divergence): string {
  const detail = d.expected !== undefined || d.actual !== undefined ? ` (recorded ${JSON.stringify(d.expected)}, got ${JSON.stringify(d.actual)})` : '';
  return `session ${d.session}: ${d.message}${detail}`;
}

/**
 * The recording subcommands of `ih-mock`:
 *
 *   ih-mock record --upstream <base URL> [--out FILE] [--with-media] [--label TEXT] [--host H] [--port N]
 *   ih-mock replay FILE [--speed X | --pace media] [--client-idle S] [--report FILE] [--seed N] [--host H] [--port N]
 *   ih-mock scenarios from-recording FILE [--session N] [--out FILE]
 *
 * record and replay serve until SIGINT/SIGTERM; replay then exits 1 if the client diverged from the
 * recording (0 otherwise). Bad usage exits 2 with one line on stderr.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { RealClock } from './clock.js';
import { packageVersion } from './paths.js';
import { Random } from './random.js';
import { extractScenarioWithNotes } from './record/extract.js';
import { createRecorder } from './record/proxy.js';
import { readRecording, RecordingError, serverEvents, type RecordedStream } from './record/reader.js';
import { createReplayServer, DEFAULT_CLIENT_IDLE_MS, type Divergence, type ReplayPace } from './record/replay.js';
import { scenarioFromObject } from '../scenarios/loader.js';
import { CommandUsageError, type CliIo } from './cli-io.js';

export const RECORD_COMMANDS_HELP = [
  'Record and replay:',
  '  ih-mock record --upstream <base URL> [--out <file>] [--with-media] [--label <text>] [--port <n>]',
  '                                             Proxy to the upstream and record every session (credentials redacted).',
  '  ih-mock replay <file> [--speed <x> | --pace media] [--client-idle <s>] [--report <file>] [--port <n>]',
  '                                             Serve a recording; report where clients differ from it.',
  '  ih-mock scenarios from-recording <file> [--session <n>] [--out <file>]',
  '                                             Reconstruct a scenario from a recorded stream session.',
  '  ih-mock check <file>... [--json]           Check recorded stream sessions and uploads against the protocol invariants.',
  '  ih-mock check <ws(s)://URL> --key <key> [--timeout <s>]',
  '                                             Drive a live server with the reference client (a stream, an upload) and check it.',
  '                                             Exit 0 ok, 1 a violation, 2 bad usage, 3 could not check (with the reason).',
].join('\n');

export class RecordUsageError extends CommandUsageError {
  override name = 'RecordUsageError';
}


function parse(args: string[], options: Record<string, { type: 'string' | 'boolean' }>, positionals: number) {
  try {
    const parsed = parseArgs({ args, options, strict: true, allowPositionals: positionals > 0 });
    if (parsed.positionals.length !== positionals) throw new RecordUsageError(`expected ${positionals} file argument${positionals === 1 ? '' : 's'}, got ${parsed.positionals.length}`);
    return parsed;
  } catch (err) {
    if (err instanceof RecordUsageError) throw err;
    throw new RecordUsageError((err as Error).message.split('\n')[0] ?? 'bad arguments');
  }
}

function port(raw: unknown, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(String(raw)) || n > 65535) throw new RecordUsageError(`--port expects 0-65535, got "${String(raw)}"`);
  return n;
}

/** Wait for SIGINT/SIGTERM, then run `stop`. */
function untilSignal(stop: () => Promise<number>): Promise<number> {
  return new Promise((resolve) => {
    const handler = () => void stop().then(resolve, () => resolve(1));
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
  });
}

export async function runRecord(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(args, { upstream: { type: 'string' }, out: { type: 'string' }, 'with-media': { type: 'boolean' }, label: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, 'log-level': { type: 'string' } }, 0);
  const upstream = values['upstream'];
  if (typeof upstream !== 'string') throw new RecordUsageError('record needs --upstream <base URL>, e.g. --upstream https://api.interhuman.ai');
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
      host: typeof values['host'] === 'string' ? values['host'] : '127.0.0.1',
      port: port(values['port'], 4747),
      clock,
      logger,
    });
  } catch (err) {
    throw new RecordUsageError((err as Error).message);
  }
  const base = await recorder.listen();
  io.out(`ih-mock record ready at ${base}\n  forwarding to: ${new URL(upstream).origin}\n  recording to:  ${out}${recorder.writer.sidecarPath ? ` (media in ${recorder.writer.sidecarPath})` : ''}\n  credentials are redacted before anything is written; stop with Ctrl-C\n`);
  return untilSignal(async () => {
    await recorder.close();
    io.err(`ih-mock record: wrote ${out}\n`);
    return 0;
  });
}

export async function runReplay(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, { speed: { type: 'string' }, pace: { type: 'string' }, 'client-idle': { type: 'string' }, report: { type: 'string' }, seed: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, 'log-level': { type: 'string' } }, 1);
  const file = positionals[0]!;
  let pace: ReplayPace = { mode: 'recorded', speed: 1 };
  if (values['pace'] !== undefined && values['pace'] !== 'media' && values['pace'] !== 'recorded') throw new RecordUsageError(`--pace is "recorded" (the default, with --speed) or "media", got "${String(values['pace'])}"`);
  if (values['pace'] === 'media') {
    if (values['speed'] !== undefined) throw new RecordUsageError('--speed and --pace media exclude each other');
    pace = { mode: 'media' };
  } else if (values['speed'] !== undefined) {
    const speed = Number(values['speed']);
    if (!(speed > 0) || !Number.isFinite(speed)) throw new RecordUsageError(`--speed expects a positive number, got "${String(values['speed'])}"`);
    pace = { mode: 'recorded', speed };
  }
  const clientIdle = values['client-idle'] === undefined ? DEFAULT_CLIENT_IDLE_MS / 1000 : Number(values['client-idle']);
  if (!(clientIdle > 0) || !Number.isFinite(clientIdle)) throw new RecordUsageError(`--client-idle expects a positive number of seconds, got "${String(values['client-idle'])}"`);
  const recording = loadRecording(file, io);
  const logger = pino({ level: typeof values['log-level'] === 'string' ? values['log-level'] : 'silent', base: { service: 'ih-mock replay' } }, pino.destination(2));
  const replay = createReplayServer({
    recording,
    pace,
    host: typeof values['host'] === 'string' ? values['host'] : '127.0.0.1',
    port: port(values['port'], 4747),
    clock: new RealClock(),
    random: new Random(Number(values['seed'] ?? 0) >>> 0),
    logger,
    onDivergence: (d) => io.err(`ih-mock replay: ${formatDivergence(d)}\n`),
    clientIdleMs: clientIdle * 1000,
  });
  const base = await replay.listen();
  const streams = recording.sessions.filter((s) => s.kind === 'stream').length;
  const exchanges = recording.sessions.length - streams;
  io.out(
    `ih-mock replay ready at ${base}\n  stream: ${base.replace(/^http/, 'ws')}/v1/stream/analyze (${streams} recorded stream session${streams === 1 ? '' : 's'}, served in order; ?session=N picks one)\n  http:   ${exchanges} recorded exchange${exchanges === 1 ? '' : 's'}\n  pace:   ${pace.mode === 'media' ? 'by the client\'s media' : `as recorded${pace.speed !== 1 ? `, ${pace.speed}x` : ''}`}\n`,
  );
  return untilSignal(async () => {
    await replay.close();
    if (typeof values['report'] === 'string') writeFileSync(values['report'], `${JSON.stringify({ recording: file, divergences: replay.divergences }, null, 2)}\n`);
    io.err(`ih-mock replay: ${replay.divergences.length} divergence${replay.divergences.length === 1 ? '' : 's'}\n`);
    return replay.divergences.length === 0 ? 0 : 1;
  });
}

export function runFromRecording(args: string[], io: CliIo): number {
  const { values, positionals } = parse(args, { session: { type: 'string' }, out: { type: 'string' }, name: { type: 'string' } }, 1);
  const file = positionals[0]!;
  const recording = loadRecording(file, io);
  const streams = recording.sessions.filter((s): s is RecordedStream => s.kind === 'stream' && s.open.kind === 'ws.open');
  const wanted = values['session'];
  const stream = wanted === undefined ? streams[0] : streams.find((s) => String(s.session) === wanted);
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

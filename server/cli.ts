/**
 * The `ih-mock` command: a thin layer that parses flags, merges a config file, and calls the
 * library. Flags are derived from the options schema, so `--help` and validation never drift.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { buildServer } from './app.js';
import { CommandUsageError } from './cli-io.js';
import { RECORD_COMMANDS_HELP, runRecord, runReplay } from './cli-record.js';
import { runScenariosCommand, runValidateCommand, SCENARIO_COMMANDS_HELP } from './cli-scenarios.js';
import { OPTIONS_SCHEMA, OptionsError, readConfigFile, resolveOptions, type ServerOptionsInput } from './options.js';
import { packageVersion } from './paths.js';
import { resolveTiming } from './stream/timing.js';
import { ADMIN_COMMANDS, ADMIN_COMMANDS_HELP, runAdminCommand, type AdminCommand } from './admin/cli-client.js';
import { adminStartupNote } from './admin/startup-note.js';

/** Flag names that differ from the kebab-case of their option key (the names users know). */
const FLAG_RENAMES: Record<string, string> = {
  idleTimeoutSeconds: 'idle-timeout',
  maxDurationSeconds: 'max-duration',
  apiKeys: 'api-key',
  keyPairs: 'key-pair',
};

/** Value placeholders in `--help` where `<value>` / `<n>` would not say enough. */
const FLAG_VALUE_HINTS: Record<string, string> = {
  keyPairs: '<id:secret[:scopes]>',
  rateLimitPerMinute: '<n|off>',
  workerPoolSize: '<n|off>',
  timing: '<realistic|instant>',
};

/** Nullable numeric options whose null is written `off` on the command line. */
const OFF_MEANS_NULL = new Set(['rateLimitPerMinute', 'workerPoolSize']);

/** Exit code for bad usage, as most CLIs use. */
export const EXIT_USAGE = 2;

interface FlagSpec {
  flag: string;
  key: string;
  kind: 'string' | 'integer' | 'number' | 'boolean' | 'string[]';
  nullable: boolean;
  description: string;
  default: unknown;
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export const FLAGS: FlagSpec[] = Object.entries(OPTIONS_SCHEMA.properties).map(([key, prop]) => {
  const types = ([] as string[]).concat(prop.type ?? 'string');
  const base = types.find((t) => t !== 'null') ?? 'string';
  const kind = base === 'array' ? 'string[]' : (base as FlagSpec['kind']);
  return { flag: FLAG_RENAMES[key] ?? kebab(key), key, kind, nullable: types.includes('null'), description: prop.description ?? '', default: prop.default };
});

export function helpText(): string {
  const rows = FLAGS.map((f) => {
    const hint = FLAG_VALUE_HINTS[f.key];
    const value = f.kind === 'boolean' ? '' : hint ? ` ${hint}` : f.kind === 'string[]' ? ' <value>' : ` <${f.kind === 'string' ? 'value' : 'n'}>`;
    const def = f.default === null ? 'auto' : Array.isArray(f.default) ? (f.default.length ? f.default.join(',') : 'none') : String(f.default);
    const repeat = f.kind === 'string[]' ? ' (repeatable)' : '';
    const extra = f.key === 'keyPairs' ? ' Format keyId:keySecret[:scope,scope], e.g. key_1:s3cret:interhumanai.upload.' : '';
    return `  --${f.flag}${value}`.padEnd(34) + `${f.description}${extra}${repeat} [default: ${def}]`;
  });
  return [
    'ih-mock: local emulator of the Interhuman v1 API (stream and upload).',
    '',
    'Usage: ih-mock [serve] [options]',
    '       ih-mock scenarios [list | show <name> | generate --seed <n>]',
    '       ih-mock validate <file>...',
    '       ih-mock record --upstream <base URL> | ih-mock replay <file> | ih-mock check <file>...',
    '       ih-mock conformance --client "<command>" [--cases 4.*] [--runs N --seed S] [--junit FILE]',
    '       ih-mock sessions | session <id> | journal | wait | inject <id> <fault> | queue | defaults | reset   (admin client)',
    '',
    'Options:',
    ...rows,
    '  --config <file>'.padEnd(34) + 'JSON or YAML file with the same options (camelCase keys); flags win.',
    '  --help'.padEnd(34) + 'Show this help.',
    '  --version'.padEnd(34) + 'Show the version.',
    '',
    'Boolean options take --no-<flag> to turn them off (e.g. --no-accept-continuation).',
    '',
    SCENARIO_COMMANDS_HELP,
    '',
    RECORD_COMMANDS_HELP,
    '',
    ADMIN_COMMANDS_HELP,
  ].join('\n');
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export type CliCommand =
  | { command: 'help' }
  | { command: 'version' }
  | { command: 'serve'; options: ServerOptionsInput }
  | { command: 'scenarios'; args: string[] }
  | { command: 'validate'; files: string[] }
  | { command: 'check'; args: string[] }
  | { command: 'conformance'; args: string[] }
  | { command: 'record'; args: string[] }
  | { command: 'replay'; args: string[] }
  | { command: 'admin'; name: AdminCommand; args: string[] };

/** Parse argv (without node and script) into a command. Throws `UsageError` or `OptionsError`. */
export function parseCli(argv: string[]): CliCommand {
  // Subcommands parse their own arguments.
  if (argv[0] === 'scenarios') return { command: 'scenarios', args: argv.slice(1) };
  if (argv[0] === 'validate') return { command: 'validate', files: argv.slice(1) };
  if (argv[0] === 'record') return { command: 'record', args: argv.slice(1) };
  if (argv[0] === 'check') return { command: 'check', args: argv.slice(1) };
  if (argv[0] === 'conformance') return { command: 'conformance', args: argv.slice(1) };
  if (argv[0] === 'replay') return { command: 'replay', args: argv.slice(1) };
  if ((ADMIN_COMMANDS as readonly string[]).includes(argv[0] ?? '')) return { command: 'admin', name: argv[0] as AdminCommand, args: argv.slice(1) };
  const config: ParseArgsConfig['options'] = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' }, config: { type: 'string' } };
  for (const f of FLAGS) {
    config[f.flag] = f.kind === 'boolean' ? { type: 'boolean' } : { type: 'string', multiple: f.kind === 'string[]' };
    if (f.kind === 'boolean') config[`no-${f.flag}`] = { type: 'boolean' };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(((err as Error).message.split('\n')[0] ?? 'bad arguments').replace(/\. To specify.*$/, ''));
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'serve')) {
    throw new UsageError(`unknown command "${positionals.join(' ')}" (commands: serve, the default; scenarios; validate; record; replay; check; conformance; ${ADMIN_COMMANDS.join('; ')}; see ih-mock --help)`);
  }
  if (values['help']) return { command: 'help' };
  if (values['version']) return { command: 'version' };

  const options: Record<string, unknown> = typeof values['config'] === 'string' ? { ...readConfigFile(values['config']) } : {};
  for (const f of FLAGS) {
    if (f.kind === 'boolean') {
      if (values[f.flag]) options[f.key] = true;
      if (values[`no-${f.flag}`]) options[f.key] = false;
      continue;
    }
    const raw = values[f.flag];
    if (raw === undefined) continue;
    if (f.key === 'keyPairs') options[f.key] = (raw as string[]).map(parseKeyPair);
    else options[f.key] = f.kind === 'string[]' ? raw : convert(f, raw as string);
  }
  // The admin token may come from the environment, which keeps it out of the process list.
  if (options['adminToken'] === undefined && process.env['IH_ADMIN_TOKEN']) options['adminToken'] = process.env['IH_ADMIN_TOKEN'];
  resolveOptions(options as ServerOptionsInput); // fail fast with the schema's message
  return { command: 'serve', options: options as ServerOptionsInput };
}

const SCOPES = ['interhumanai.upload', 'interhumanai.stream'];

/**
 * `--key-pair keyId:keySecret[:scope,scope]` → a `keyPairs` entry. The secret is never echoed in the
 * error (it would land in terminals and CI logs).
 */
export function parseKeyPair(raw: string): { keyId: string; keySecret: string; scopes?: string[] } {
  const parts = raw.split(':');
  const keyId = parts[0] ?? '';
  const shown = JSON.stringify(`${keyId}:***${parts.length > 2 ? `:${parts.slice(2).join(':')}` : ''}`);
  if (parts.length < 2 || parts.length > 3 || keyId === '' || parts[1] === '') {
    throw new UsageError(`--key-pair expects keyId:keySecret[:scope,scope] (keyId and keySecret non-empty, no ":" inside them), got ${parts.length < 2 ? JSON.stringify(keyId) : shown}`);
  }
  if (parts.length === 2) return { keyId, keySecret: parts[1]! };
  const scopes = parts[2]!.split(',').map((s) => s.trim());
  const unknown = scopes.filter((s) => !SCOPES.includes(s));
  if (unknown.length > 0 || new Set(scopes).size !== scopes.length) {
    throw new UsageError(`--key-pair scopes must be distinct values of ${SCOPES.join(', ')} separated by commas, got ${shown}`);
  }
  return { keyId, keySecret: parts[1]!, scopes };
}

function convert(f: FlagSpec, raw: string): unknown {
  if (f.nullable && raw === 'auto') return null;
  if (OFF_MEANS_NULL.has(f.key) && raw === 'off') return null;
  if (f.kind === 'string') return raw;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${f.flag} expects a number, got "${raw}"`);
  if (f.kind === 'integer' && !Number.isInteger(n)) throw new UsageError(`--${f.flag} expects a whole number, got "${raw}"`);
  return n;
}

function describeTiming(server: ReturnType<typeof buildServer>): string {
  const t = resolveTiming(server.options, server.scenario);
  const pool = server.pool.capacity === Infinity ? 'unlimited shared pool' : `a shared pool of ${server.pool.capacity}`;
  return t.mode === 'instant' ? 'instant (no added latency)' : `realistic (window processing ${t.ratio} x length ± ${Math.round(t.jitter * 100)} %, ${t.workers} workers per session, ${pool})`;
}

/** Run the CLI. Resolves with the process exit code once the server has stopped (or at once). */
export async function main(argv: string[]): Promise<number> {
  let cmd: CliCommand;
  try {
    cmd = parseCli(argv);
  } catch (err) {
    if (err instanceof UsageError || err instanceof OptionsError) {
      process.stderr.write(`ih-mock: ${err.message} (see ih-mock --help)\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (cmd.command === 'help') {
    process.stdout.write(`${helpText()}\n`);
    return 0;
  }
  if (cmd.command === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (cmd.command !== 'serve') {
    const io = { out: (t: string) => void process.stdout.write(t), err: (t: string) => void process.stderr.write(t) };
    try {
      if (cmd.command === 'scenarios') return runScenariosCommand(cmd.args, io);
      if (cmd.command === 'validate') return runValidateCommand(cmd.files, io);
      if (cmd.command === 'admin') return await runAdminCommand(cmd.name, cmd.args, io);
      // The conformance kit (fast-check, the case catalogue) loads only for the commands that use it.
      if (cmd.command === 'check') return await (await import('../conformance/check.js')).runCheck(cmd.args, io);
      if (cmd.command === 'conformance') return await (await import('../conformance/cli.js')).runConformance(cmd.args, io);
      return await (cmd.command === 'record' ? runRecord(cmd.args, io) : runReplay(cmd.args, io));
    } catch (err) {
      if (!(err instanceof CommandUsageError)) throw err;
      process.stderr.write(`ih-mock: ${err.message} (see ih-mock --help)\n`);
      return EXIT_USAGE;
    }
  }
  let server: ReturnType<typeof buildServer>;
  try {
    server = buildServer(cmd.options);
  } catch (err) {
    process.stderr.write(`ih-mock: ${(err as Error).message.split('\n').join(' ')}\n`);
    return EXIT_USAGE;
  }
  let urls: Awaited<ReturnType<typeof server.listen>>;
  try {
    urls = await server.listen();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'EADDRINUSE' ? `port ${server.options.port} on ${server.options.host} is in use (pick another with --port, or --port 0 for a free one)`
      : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' ? `cannot listen on host ${server.options.host} (${e.code})`
      : e.message;
    process.stderr.write(`ih-mock: ${why}\n`);
    return 1;
  }
  // The first line is fixed so scripts can wait for it: "ih-mock ready at <base URL>".
  process.stdout.write(
    [
      `ih-mock ready at ${urls.baseUrl}`,
      `  stream:   ${urls.streamUrl}`,
      `  upload:   POST ${urls.baseUrl}/v1/upload/analyze   (OpenAPI: ${urls.baseUrl}/openapi.json)`,
      `  scenario: ${server.scenario.name}, seed ${server.options.seed} (pass --seed ${server.options.seed} to replay this run)`,
      `  timing:   ${describeTiming(server)}`,
      server.options.connectionScenarios ? `            a client may choose its own with ${urls.streamUrl}?scenario=<name|random>&seed=<n>&timing=<realistic|instant>` : '            (connections may not choose their scenario: --no-connection-scenarios)',
      server.options.apiKeys.length
        ? `  auth:     Authorization: Bearer <key> (or Sec-WebSocket-Protocol) with one of the ${server.options.apiKeys.length} configured --api-key values`
        : '  auth:     Authorization: Bearer <any non-empty key> (or Sec-WebSocket-Protocol: <key>); configure --api-key to restrict',
      server.options.keyPairs.length
        ? `            or an access token from POST ${urls.baseUrl}/v1/auth with one of the ${server.options.keyPairs.length} configured --key-pair values`
        : `            or an access token from POST ${urls.baseUrl}/v1/auth with any non-empty key_id/key_secret (every scope); configure --key-pair to restrict`,
      ...adminStartupNote(urls.baseUrl, server.options),
      '',
    ].join('\n'),
  );
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      server.logger.info({ signal }, 'shutting down');
      server.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

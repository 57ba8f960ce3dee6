/**
 * `ih-mock serve` (the default command): run the emulator until SIGINT/SIGTERM, which close open
 * sessions with 1001 and exit 0. Its flags are the options schema's (`schema-flags.ts`) plus
 * `--config`. The first line of output is fixed so scripts can wait for it: `ih-mock ready at <URL>`.
 */
import type { MockServer, MockServerUrls } from '../app.js';
import type { ServerOptionsInput } from '../options.js';
import { CommandUsageError, type CliIo } from './io.js';
import type { Command, Flag, ParsedArgs } from './options.js';
import { packageVersion } from '../paths.js';
import { optionFlags, optionsFromFlags } from './schema-flags.js';
import { listenOrExplain, withStopSignal } from './serving.js';

const OPTION_FLAGS = optionFlags();

export const CONFIG_FLAG: Flag = { name: 'config', type: 'string', value: '<file>', description: 'JSON or YAML file with the same options (camelCase keys, e.g. idleTimeoutSeconds: 60); flags win over it.' };
const VERSION_FLAG: Flag = { name: 'version', type: 'boolean', description: 'Show the version and exit.' };

export const command: Command = {
  name: 'serve',
  summary: 'Run the emulator: the stream, upload and token endpoints on one port (the default command).',
  usage: ['[options]', '(serve is the default: ih-mock [options] is the same)'],
  details: [
    'Prints "ih-mock ready at <base URL>" first (scripts can wait for it), then the stream URL, scenario, seed, timing and how to authenticate. SIGINT/SIGTERM close open sessions with 1001 and exit 0; a port in use exits 1; bad options exit 2.',
    'Boolean options take --no-<flag> to turn them off (e.g. --no-accept-continuation). Null options take auto (or off where the help says so).',
  ],
  flags: [...OPTION_FLAGS, CONFIG_FLAG, VERSION_FLAG],
  run: serve,
};

/** The options the flags (and `--config`) give, before defaults: what `resolveOptions` validates. */
export async function serveOptions(values: ParsedArgs['values']): Promise<ServerOptionsInput> {
  const { readConfigFile } = await import('../options.js');
  const fromFile = typeof values['config'] === 'string' ? readConfigFile(values['config']) : {};
  const options = { ...fromFile, ...optionsFromFlags(OPTION_FLAGS, values) } as ServerOptionsInput;
  // The admin token may come from the environment, which keeps it out of the process list.
  if (options.adminToken === undefined && process.env['IH_ADMIN_TOKEN']) options.adminToken = process.env['IH_ADMIN_TOKEN'];
  return options;
}

/**
 * The server the flags (and `--config`) describe, built but not listening. `defaults` fill options
 * neither gives (exec's free port). A bad option value, or a scenario that does not load, is the
 * user's to fix: `CommandUsageError`.
 */
export async function serverFromFlags(values: ParsedArgs['values'], defaults: ServerOptionsInput = {}): Promise<MockServer> {
  const [{ OptionsError, resolveOptions }, { buildServer }, { ScenarioError }, { RANDOM_SCENARIO, loadScenarioGenerator }] = await Promise.all([
    import('../options.js'),
    import('../app.js'),
    import('../../scenarios/loader.js'),
    import('../connection-choice.js'),
  ]);
  try {
    const options = { ...defaults, ...(await serveOptions(values)) };
    // fail fast with the schema's message; a random default scenario is generated as the server is built
    if (resolveOptions(options).scenario === RANDOM_SCENARIO) await loadScenarioGenerator();
    return buildServer(options);
  } catch (err) {
    if (err instanceof OptionsError || err instanceof ScenarioError) throw new CommandUsageError(err.message.split('\n').join(' '));
    throw err;
  }
}

async function serve({ values }: ParsedArgs, io: CliIo): Promise<number> {
  if (values['version'] === true) {
    io.out(`${packageVersion()}\n`);
    return 0;
  }
  const server = await serverFromFlags(values);
  // What the readiness line needs is loaded before listening, so the line is written in the turn
  // the server starts listening: work the server defers until it listens (loading prom-client)
  // comes after the line instead of before it.
  const [timing, adminNote] = await Promise.all([import('../stream/timing.js'), import('../admin/startup-note.js')]);
  return withStopSignal(async (stopped) => {
    const urls = await listenOrExplain(() => server.listen(), server.options);
    io.out(readiness(server, urls, timing, adminNote));
    const signal = await stopped;
    server.logger.info({ signal }, 'shutting down');
    return server.close().then(
      () => 0,
      () => 1,
    );
  });
}

type TimingModule = typeof import('../stream/timing.js');
type AdminNoteModule = typeof import('../admin/startup-note.js');

function describeTiming(server: MockServer, { describeTiming: describe, resolveTiming }: TimingModule): string {
  const t = resolveTiming(server.options, server.scenario);
  const pool = server.pool.capacity === Infinity ? 'unlimited shared pool' : `a shared pool of ${server.pool.capacity}`;
  return t.mode === 'instant' ? describe(t) : `${describe(t).slice(0, -1)}, ${pool})`;
}

function readiness(server: MockServer, urls: MockServerUrls, timing: TimingModule, { adminStartupNote }: AdminNoteModule): string {
  const timingChoices = OPTION_FLAGS.find((f) => f.key === 'timing')?.choices ?? [];
  return [
    `ih-mock ready at ${urls.baseUrl}`,
    `  stream:   ${urls.streamUrl}`,
    `  upload:   POST ${urls.baseUrl}/v1/upload/analyze   (OpenAPI: ${urls.baseUrl}/openapi.json)`,
    `  scenario: ${server.scenario.name}, seed ${server.options.seed} (pass --seed ${server.options.seed} to replay this run)`,
    `  timing:   ${describeTiming(server, timing)}`,
    server.options.connectionScenarios ? `            a client may choose its own with ${urls.streamUrl}?scenario=<name|random>&seed=<n>&timing=<${timingChoices.join('|')}>` : '            (connections may not choose their scenario: --no-connection-scenarios)',
    server.options.apiKeys.length
      ? `  auth:     Authorization: Bearer <key> (or Sec-WebSocket-Protocol) with one of the ${server.options.apiKeys.length} configured --api-key values`
      : '  auth:     Authorization: Bearer <any non-empty key> (or Sec-WebSocket-Protocol: <key>); configure --api-key to restrict',
    server.options.keyPairs.length
      ? `            or an access token from POST ${urls.baseUrl}/v1/auth with one of the ${server.options.keyPairs.length} configured --key-pair values`
      : `            or an access token from POST ${urls.baseUrl}/v1/auth with any non-empty key_id/key_secret (every scope); configure --key-pair to restrict`,
    ...adminStartupNote(urls.baseUrl, server.options),
    '',
  ].join('\n');
}

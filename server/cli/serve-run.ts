/**
 * What `ih-mock serve` does once its command line is parsed (`serve.ts` defines and checks its flags;
 * the values arrive here by flag name, converted): build the server, listen, print the readiness
 * line, serve until SIGINT/SIGTERM. `exec`, `record` and `replay` build their server here too.
 * Imported only when a command runs, so `--help` loads no server.
 */
import { buildServer, type MockServer, type MockServerUrls } from '../app.js';
import { adminStartupNote } from '../admin/startup-note.js';
import { ServingHeapTuning } from '../heap-tuning.js';
import { RANDOM_SCENARIO, loadScenarioGenerator } from '../connection-choice.js';
import { OptionsError, resolveOptions, type ServerOptionsInput } from '../options.js';
import { describeTiming as describeTimingMode, resolveTiming } from '../stream/timing.js';
import { ScenarioError } from '../../scenarios/loader.js';
import { CommandUsageError, type CliIo } from './io.js';
import type { ParsedArgs } from './options.js';
import { OPTION_FLAGS, serveOptions } from './serve.js';
import { listenOrExplain, withStopSignal } from './serving.js';

/**
 * The server the flags (and `--config`) describe, built but not listening. `defaults` fill options
 * neither gives (exec's free port). A bad option value, or a scenario that does not load, is the
 * user's to fix: `CommandUsageError`.
 */
export async function serverFromFlags(values: ParsedArgs['values'], defaults: ServerOptionsInput = {}): Promise<MockServer> {
  try {
    const options = { ...defaults, ...(await serveOptions(values)) };
    // fail fast with the schema's message; a random default scenario is generated as the server is built
    if (resolveOptions(options).scenario === RANDOM_SCENARIO) await loadScenarioGenerator();
    // This process only serves: V8's garbage collection follows the open sessions (server/heap-tuning.ts).
    const heapTuning = new ServingHeapTuning();
    const server = buildServer({ ...options, heapTuning });
    server.logger.debug({ policy: heapTuning.describe() }, 'V8 garbage collection');
    return server;
  } catch (err) {
    if (err instanceof OptionsError || err instanceof ScenarioError) throw new CommandUsageError(err.message.split('\n').join(' '));
    throw err;
  }
}

/** Serve until SIGINT/SIGTERM (`--version` is answered by `serve.ts`, which loads none of this). */
export async function serve({ values }: ParsedArgs, io: CliIo): Promise<number> {
  const server = await serverFromFlags(values);
  return withStopSignal(async (stopped) => {
    const urls = await listenOrExplain(() => server.listen(), server.options);
    // Written in the turn the server starts listening: work it defers until it listens (loading
    // prom-client, the wire validators) comes after the line instead of before it.
    io.out(readiness(server, urls));
    const signal = await stopped;
    server.logger.info({ signal }, 'shutting down');
    return server.close().then(
      () => 0,
      () => 1,
    );
  });
}

function describeTiming(server: MockServer): string {
  const t = resolveTiming(server.options, server.scenario);
  const pool = server.pool.capacity === Infinity ? 'unlimited shared pool' : `a shared pool of ${server.pool.capacity}`;
  return t.mode === 'instant' ? describeTimingMode(t) : `${describeTimingMode(t).slice(0, -1)}, ${pool})`;
}

function readiness(server: MockServer, urls: MockServerUrls): string {
  const timingChoices = OPTION_FLAGS.find((f) => f.key === 'timing')?.choices ?? [];
  return [
    `ih-mock ready at ${urls.baseUrl}`,
    `  stream:   ${urls.streamUrl}`,
    `  upload:   POST ${urls.baseUrl}/v1/upload/analyze   (OpenAPI: ${urls.baseUrl}/openapi.json)`,
    `  scenario: ${server.scenario.name}, seed ${server.options.seed} (pass --seed ${server.options.seed} to replay this run)`,
    `  timing:   ${describeTiming(server)}`,
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

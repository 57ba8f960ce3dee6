/**
 * `ih-mock serve` (the default command): run the emulator until SIGINT/SIGTERM, which close open
 * sessions with 1001 and exit 0. Its flags are the options schema's (`schema-flags.ts`) plus
 * `--config`. The first line of output is fixed so scripts can wait for it: `ih-mock ready at <URL>`.
 * This is its definition, which `--help` loads; what it runs is in `serve-run.ts`, loaded when it runs.
 */
import type { MockServer } from '../app.js';
import type { ServerOptionsInput } from '../options.js';
import type { CliIo } from './io.js';
import type { Command, Flag, ParsedArgs } from './options.js';
import { packageVersion } from '../paths.js';
import { optionFlags, optionsFromFlags } from './schema-flags.js';

export const OPTION_FLAGS = optionFlags();

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
  return (await import('./serve-run.js')).serverFromFlags(values, defaults);
}

async function serve(args: ParsedArgs, io: CliIo): Promise<number> {
  if (args.values['version'] === true) {
    io.out(`${packageVersion()}\n`);
    return 0;
  }
  return (await import('./serve-run.js')).serve(args, io);
}

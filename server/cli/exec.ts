/**
 * `ih-mock exec [options] -- <command> [args…]`: start the emulator, run one command with its URLs in
 * the environment, stop the emulator, and exit with the command's exit code. The one-line CI
 * integration for any language (docs: README "Use it from your test stack").
 *
 * Exit codes: the command's own; 128+n when a signal n killed it (as shells report it); 125 when
 * ih-mock itself failed (bad usage, bad options, a port in use), 126 when the command could not be
 * run, 127 when it was not found (the codes `env`, `timeout` and `nice` use), so a test run's
 * failure is never mistaken for the emulator's.
 *
 * Signals: SIGTERM, SIGHUP and SIGINT sent to exec are passed on to the command, and the emulator
 * stops only after the command has exited. A terminal's Ctrl-C already reaches the command (it runs
 * in the same process group, so it can read the terminal), so exec does not send it a second time
 * when its stdin is a terminal: a second SIGINT makes many test runners abort their cleanup.
 */
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { MockServerUrls } from '../app.js';
import type { ServerOptions } from '../options.js';
import type { CliIo } from './io.js';
import type { Command, ParsedArgs } from './options.js';
import { optionFlag, optionFlags } from './schema-flags.js';
import { CONFIG_FLAG, serverFromFlags } from './serve.js';
import { listenOrExplain } from './serving.js';

/** ih-mock itself failed: bad usage, bad options, the emulator could not start. */
export const EXIT_EXEC_FAILURE = 125;
/** The command was found but could not be run (not executable). */
export const EXIT_CANNOT_RUN = 126;
/** The command was not found. */
export const EXIT_NOT_FOUND = 127;

/** The API key the command is given when no `--api-key` restricts them (any non-empty key is accepted then). */
export const DEFAULT_EXEC_API_KEY = 'ih_mock_exec_key';

/** What exec passes on to the command, as a shell would see them. */
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const SHELL_FLAG = {
  name: 'shell',
  type: 'boolean',
  description: 'Run the command through the system shell (/bin/sh -c, cmd.exe on Windows), joined by spaces, so it may use pipes, && and $VARIABLES. Off by default: the arguments after -- are passed as they are, with no quoting to get wrong.',
} as const;

// exec's own defaults where serve's do not suit a command running beside it: any free port (the URLs
// are in the environment; parallel CI jobs never collide), and warnings only on stderr, which the
// command shares.
const EXEC_DEFAULTS = { port: 0, logLevel: 'warn' } as const;

const FLAGS = [
  ...optionFlags().map((flag) =>
    flag.key === 'port' ? optionFlag('port', { default: '0 (a free port)' })
    : flag.key === 'logLevel' ? optionFlag('logLevel', { default: 'warn' })
    : flag,
  ),
  CONFIG_FLAG,
  SHELL_FLAG,
];

export const command: Command = {
  name: 'exec',
  summary: 'Start the emulator, run a command with its URLs in the environment, stop it, exit with the command\'s code.',
  usage: ['[options] -- <command> [arguments]'],
  details: [
    'The command gets IH_API_BASE_URL (http://host:port), IH_STREAM_URL (ws://host:port/v1/stream/analyze), IH_API_KEY (the first --api-key, else a key the emulator accepts), IH_ADMIN_URL (the admin API, http://host:port/__ih) and IH_MOCK_URL (the base URL, which the admin commands and connectAdmin take; IH_ADMIN_TOKEN too when --admin-token is given), on top of this environment. The options are serve\'s, except that the port is a free one and the log level warn unless given. ih-mock prints one line to stderr when the emulator is up; the command has stdin, stdout and stderr to itself.',
    'Exit codes: the command\'s own; 128+n when signal n killed it; 125 when ih-mock failed (bad usage or options, a port in use); 126 when the command cannot be run; 127 when it is not found. SIGINT, SIGTERM and SIGHUP are passed on to the command (a terminal\'s Ctrl-C reaches it directly); the emulator stops after the command exits.',
  ],
  flags: FLAGS,
  positionals: { name: '<command>', description: 'The command and its arguments, after --.', min: 1, max: Infinity },
  ownFailureCode: EXIT_EXEC_FAILURE,
  run: exec,
};

/** The variables the command gets, so a test in any language finds the emulator. */
export function execEnvironment(urls: MockServerUrls, options: ServerOptions): Record<string, string> {
  return {
    IH_API_BASE_URL: urls.baseUrl,
    IH_STREAM_URL: urls.streamUrl,
    IH_API_KEY: options.apiKeys[0] ?? DEFAULT_EXEC_API_KEY,
    IH_ADMIN_URL: `${urls.baseUrl}/__ih`,
    IH_MOCK_URL: urls.baseUrl,
    ...(options.adminToken ? { IH_ADMIN_TOKEN: options.adminToken } : {}),
  };
}

async function exec({ values, positionals }: ParsedArgs, io: CliIo): Promise<number> {
  const server = await serverFromFlags(values, EXEC_DEFAULTS);
  // Signals that arrive while the emulator starts are held, then given to the command (or, if the
  // emulator never starts, end exec like any other start-up failure).
  const pending: NodeJS.Signals[] = [];
  let child: ChildProcess | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!child) return void pending.push(signal);
    if (signal === 'SIGINT' && process.stdin.isTTY) return; // the terminal sent it to the command already
    child.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);
  try {
    const urls = await listenOrExplain(() => server.listen(), server.options);
    if (pending.length > 0) {
      await server.close();
      io.err(`ih-mock exec: stopped by ${pending[0]} before the command started\n`);
      return 128 + signalNumber(pending[0]!);
    }
    const { spawn } = await import('node:child_process');
    const shell = values['shell'] === true;
    io.err(`ih-mock exec: emulator ready at ${urls.baseUrl} (stream ${urls.streamUrl}); running ${positionals.join(' ')}\n`);
    const started = shell
      ? spawn(positionals.join(' '), { shell: true, stdio: 'inherit', env: { ...process.env, ...execEnvironment(urls, server.options) } })
      : spawn(positionals[0]!, positionals.slice(1), { stdio: 'inherit', env: { ...process.env, ...execEnvironment(urls, server.options) } });
    child = started;
    const code = await new Promise<number>((resolve) => {
      started.once('error', (err: NodeJS.ErrnoException) => {
        io.err(`ih-mock exec: cannot run ${positionals[0]}: ${err.code === 'ENOENT' ? 'command not found' : err.message}\n`);
        resolve(err.code === 'ENOENT' ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN);
      });
      started.once('exit', (exitCode, signal) => resolve(exitCode ?? 128 + signalNumber(signal!)));
    });
    await server.close().catch((err: Error) => io.err(`ih-mock exec: the emulator did not stop cleanly: ${err.message}\n`));
    return code;
  } catch (err) {
    await server.close().catch(() => undefined);
    throw err;
  } finally {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
  }
}

/** The number of a signal (SIGINT 2, SIGTERM 15), for the 128+n a shell reports. */
function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}

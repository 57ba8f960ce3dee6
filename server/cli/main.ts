/**
 * The `ih-mock` command line: find the command, parse its arguments by its definitions, run it, and
 * turn how it ended into an exit code (0 done, 1 a problem found or could not start, 2 bad usage).
 *
 * To add a command: write `<name>.ts` in this folder exporting `command: Command` (see `options.ts`:
 * its summary, flags, arguments and `run`; what `run` needs beyond this folder it imports inside
 * `run`), then add one line to COMMANDS below. Its help, `ih-mock help <name>`, the checking and
 * conversion of its flags, "did you mean" and the exit codes come with it.
 *
 * Nothing heavy is imported here or by a command's definition: `--version` and `--help` load no
 * server, no schema compiler, no conformance kit; a command loads what it needs when it runs.
 */
import { packageVersion } from '../paths.js';
import { commandHelp, overview, shortName } from './help.js';
import { CommandFailure, CommandUsageError, type CliIo } from './io.js';
import { parseCommandLine, type Command } from './options.js';
import { didYouMean } from './suggest.js';
import { ADMIN_CLI_COMMANDS } from './admin.js';

/** Every command, in the order `ih-mock --help` lists them. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.js')).command,
  scenarios: async () => (await import('./scenarios.js')).command,
  validate: async () => (await import('./validate.js')).command,
  record: async () => (await import('./record.js')).command,
  replay: async () => (await import('./replay.js')).command,
  check: async () => (await import('./check.js')).command,
  conformance: async () => (await import('./conformance.js')).command,
  exec: async () => (await import('./exec.js')).command,
  // The admin client: thin clients of a running ih-mock's control plane.
  ...ADMIN_CLI_COMMANDS,
};

/** What `ih-mock [options]` runs. */
const DEFAULT_COMMAND = 'serve';

/** Exit code for bad usage, as most CLIs use. */
export const EXIT_USAGE = 2;
/** Exit code when a command ran and found a problem, or could not start. */
export const EXIT_FAILURE = 1;

const PROCESS_IO: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

const isHelpFlag = (arg: string | undefined) => arg === '--help' || arg === '-h';

/** The names of every command, for errors and suggestions. */
export function commandNames(): string[] {
  return Object.keys(COMMANDS);
}

/** Every command's definition (for `--help`, and for tests that check the help against them). */
export async function allCommands(): Promise<Command[]> {
  return Promise.all(Object.values(COMMANDS).map((load) => load()));
}

/**
 * The command `argv` names, and the arguments left for it. A command with subcommands resolves to
 * the subcommand named next (or its default); with `--help` and no subcommand named, to itself.
 */
export async function resolveCommand(argv: readonly string[]): Promise<{ command: Command; rest: string[]; implicit: boolean }> {
  const first = argv[0];
  const implicit = first === undefined || first.startsWith('-');
  const name = implicit ? DEFAULT_COMMAND : first;
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) throw new CommandUsageError(`unknown command "${name}"${didYouMean(name, [...commandNames(), 'help'])} (commands: ${commandNames().join(', ')}, help)`);
  let command = await load();
  let rest = implicit ? [...argv] : argv.slice(1);
  while (command.subcommands) {
    const word = rest[0];
    const named = command.subcommands.find((s) => shortName(s) === word);
    if (named) {
      command = named;
      rest = rest.slice(1);
    } else if (word === undefined || word.startsWith('-')) {
      if (rest.some(isHelpFlag)) break;
      command = command.subcommands.find((s) => shortName(s) === command.defaultSubcommand)!;
    } else {
      const names = command.subcommands.map(shortName);
      throw new CommandUsageError(`unknown ${command.name} command "${word}"${didYouMean(word, names)} (${names.join(', ')})`);
    }
  }
  return { command, rest, implicit };
}

/** Run the CLI with `argv` (without node and the script). Resolves with the exit code. */
export async function main(argv: string[], io: CliIo = PROCESS_IO): Promise<number> {
  // Where a usage error points: the help of the command named, once known.
  let seeAlso = argv[0] !== undefined && Object.hasOwn(COMMANDS, argv[0]) ? `ih-mock ${argv[0]} --help` : 'ih-mock --help';
  let ownFailureCode: number | undefined;
  try {
    // The common case without loading even the serve command's definition (serve takes --version too).
    if (argv.length === 1 && argv[0] === '--version') {
      io.out(`${packageVersion()}\n`);
      return 0;
    }
    if (argv[0] === 'help' || isHelpFlag(argv[0])) {
      const topic = argv[0] === 'help' ? argv.slice(1) : [];
      if (topic.length === 0) {
        io.out(overview(await allCommands(), await COMMANDS[DEFAULT_COMMAND]!(), packageVersion()));
        return 0;
      }
      io.out(commandHelp((await resolveCommand([...topic, '--help'])).command));
      return 0;
    }
    const { command, rest, implicit } = await resolveCommand(argv);
    seeAlso = implicit ? 'ih-mock --help' : `ih-mock ${command.name} --help`;
    ownFailureCode = command.ownFailureCode;
    const parsed = parseCommandLine(command, rest);
    if (parsed.help) {
      io.out(implicit ? overview(await allCommands(), command, packageVersion()) : commandHelp(command));
      return 0;
    }
    if (!command.run) throw new Error(`ih-mock ${command.name} has no run()`);
    return await command.run(parsed, io);
  } catch (err) {
    if (err instanceof CommandUsageError) {
      io.err(`ih-mock: ${oneLine(err.message)} (see ${seeAlso})\n`);
      return ownFailureCode ?? EXIT_USAGE;
    }
    if (err instanceof CommandFailure) {
      io.err(`ih-mock: ${oneLine(err.message)}\n`);
      return ownFailureCode ?? EXIT_FAILURE;
    }
    throw err;
  }
}

function oneLine(message: string): string {
  return message.split('\n').join(' ');
}

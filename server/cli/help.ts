/** `--help`, rendered from the same definitions the parser uses (`options.ts`), so it cannot drift. */
import { HELP_FLAG, placeholder, type Command, type Flag } from './options.js';

/** Help is wrapped to this width (fixed, so it reads the same in a terminal, a pipe and a test). */
const WIDTH = 100;
/** The flag column never takes more than this; a longer flag puts its description on the next line. */
const MAX_FLAG_COLUMN = 36;

/** The last word of a command's name: `generate` for `scenarios generate`. */
export function shortName(command: Command): string {
  return command.name.split(' ').pop()!;
}

/** Keeps words together when wrapping (`[default: 30000]` is one unit); printed as a space. */
const NBSP = '\u00a0';

/** `text` wrapped to `width`, every line after the first indented by `indent`. */
function wrap(text: string, indent: number, width = WIDTH): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/[ \t\n]+/).filter(Boolean)) {
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`).replaceAll(NBSP, ' ');
}

/** Two columns: a term and its wrapped description. */
function table(rows: readonly (readonly [string, string])[], indent = 2): string[] {
  const column = Math.min(MAX_FLAG_COLUMN, Math.max(...rows.map(([term]) => indent + term.length + 2)));
  return rows.map(([term, text]) => {
    const left = `${' '.repeat(indent)}${term}`;
    if (left.length + 2 > column) return `${left}\n${' '.repeat(column)}${wrap(text, column)}`;
    return `${left.padEnd(column)}${wrap(text, column)}`;
  });
}

function flagRow(flag: Flag): [string, string] {
  const value = placeholder(flag);
  const notes = [flag.required ? 'Required.' : '', flag.repeatable ? 'Repeatable.' : '', flag.default !== undefined ? `[default:${NBSP}${flag.default}]` : ''].filter(Boolean);
  return [`--${flag.name}${value ? ` ${value}` : ''}`, [flag.description, ...notes].join(' ')];
}

/** The flags of a command as help rows, `--help` last. */
function flagRows(flags: readonly Flag[]): string[] {
  return table([...flags, { ...HELP_FLAG, name: 'help, -h' }].map(flagRow));
}

function usageLines(command: Command): string[] {
  if (command.subcommands) {
    return command.subcommands.flatMap((sub) => usageLines(sub).map((line) => (shortName(sub) === command.defaultSubcommand ? line.replace(` ${shortName(sub)}`, ` [${shortName(sub)}]`) : line)));
  }
  const required = command.flags.filter((f) => f.required).map((f) => `--${f.name} ${placeholder(f)}`);
  const fallback = [command.positionals?.name, ...required, command.flags.some((f) => !f.required) ? '[options]' : ''].filter(Boolean).join(' ');
  return (command.usage ?? [fallback]).map((u) => `ih-mock ${command.name}${u ? ` ${u}` : ''}`);
}

/** `Usage: …` with one line per form. */
function usage(command: Command): string[] {
  return usageLines(command).map((line, i) => `${i === 0 ? 'Usage: ' : '       '}${line}`);
}

/** The help of one command (or of a command with subcommands: all of them). */
export function commandHelp(command: Command): string {
  const out = [`ih-mock ${command.name}: ${command.summary}`, '', ...usage(command)];
  for (const paragraph of command.details ?? []) out.push('', wrap(paragraph, 0));
  if (command.positionals) out.push('', 'Arguments:', ...table([[command.positionals.name, command.positionals.description]]));
  if (command.subcommands) {
    out.push('', 'Commands:', ...table(command.subcommands.map((s) => [shortName(s), s.summary])));
    for (const sub of command.subcommands) {
      if (sub.flags.length === 0) continue;
      out.push('', `Options of ${sub.name}:`, ...table(sub.flags.map(flagRow)));
    }
    out.push('', `One command's help: ih-mock ${command.name} <command> --help`);
  } else {
    out.push('', 'Options:', ...flagRows(command.flags));
  }
  return `${out.join('\n')}\n`;
}

/** `ih-mock --help`: the commands, the exit codes, and the options of the default command. */
export function overview(commands: readonly Command[], defaultCommand: Command, version: string): string {
  return `${[
    `ih-mock ${version}: local emulator and conformance kit for the Interhuman v1 API (stream and upload).`,
    '',
    `Usage: ih-mock [${defaultCommand.name}] [options]             (${defaultCommand.name} is the default command)`,
    '       ih-mock <command> [arguments] [options]',
    "       ih-mock <command> --help              (or ih-mock help <command>: a command's arguments and options)",
    '       ih-mock --version',
    '',
    'Commands:',
    ...table([...commands.map((c): [string, string] => [c.name, c.summary]), ['help', 'Show the help of a command: ih-mock help <command>.']]),
    '',
    wrap('Exit codes: 0 success; 1 the command ran and found a problem (an invalid scenario file, a violated invariant, a FAILED case, a replay divergence) or could not start (a port in use); 2 bad usage (one line on stderr). exec exits with its command\'s code, and 125-127 for its own failures (ih-mock exec --help).', 0),
    '',
    `Options of ${defaultCommand.name}:`,
    ...flagRows(defaultCommand.flags),
    ...(defaultCommand.details ?? []).flatMap((p) => ['', wrap(p, 0)]),
  ].join('\n')}\n`;
}

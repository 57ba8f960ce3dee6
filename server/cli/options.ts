/**
 * The command line's vocabulary: what a command is (its flags and arguments), and the one parser
 * every command goes through. The help of a command is rendered from the same definitions
 * (`help.ts`), so what `--help` lists is exactly what is accepted, with the same types and defaults.
 *
 * Flags are `--name value`, `--name=value`, `--name` (booleans) and `--no-name` (negatable
 * booleans); `--` ends the flags. A value is converted and checked by its flag's type here, so a
 * command receives numbers as numbers and never has to guess.
 */
import { CommandUsageError, type CliIo } from './io.js';
import { didYouMean } from './suggest.js';

export type FlagType = 'string' | 'integer' | 'number' | 'boolean';

/** An allowed numeric range (inclusive, or exclusive at the bottom). */
export interface NumberRange {
  min?: number;
  max?: number;
  exclusiveMin?: boolean;
}

export interface Flag {
  /** Without the dashes, kebab-case: `max-duration` is `--max-duration`. */
  name: string;
  type: FlagType;
  description: string;
  /** Placeholder of the value in the help (`<file>`); by default derived from the type and choices. */
  value?: string;
  /** The default as the help shows it (the command applies its defaults itself). */
  default?: string;
  /** The only values accepted. */
  choices?: readonly string[];
  /** Numbers: the value must fall in one of these. */
  ranges?: readonly NumberRange[];
  /** Words that stand for "none" (`off`, `auto`): the value becomes null. */
  nullWords?: readonly string[];
  /** May be given more than once; the values are collected into an array. */
  repeatable?: boolean;
  /** A boolean that `--no-<name>` turns off. */
  negatable?: boolean;
  required?: boolean;
  /** Further checks or conversion of a string value; throws `CommandUsageError` with a clear message. */
  convert?: (raw: string) => unknown;
}

export interface Positionals {
  /** As the usage shows it: `<file>`, `<recording>`. */
  name: string;
  description: string;
  min: number;
  max: number;
}

/** What the parser hands a command: flag values by flag name (as `--name` spells it) and the other arguments. */
export interface ParsedArgs {
  values: Record<string, unknown>;
  positionals: string[];
}

/**
 * One `ih-mock` command (or a subcommand, such as `scenarios generate`). A command module exports
 * one and imports only light modules at its top (this folder, `../paths.js`): `ih-mock --help`
 * loads every command's definition. What a command needs to run (the server, the recorder, the
 * conformance kit) it imports inside `run` with `await import()`.
 */
export interface Command {
  /** The words after `ih-mock`: `record`, `scenarios generate`. */
  name: string;
  /** One line, for the list of commands. */
  summary: string;
  /** Usage lines after `ih-mock <name>`; by default `[options]` with the positionals. */
  usage?: readonly string[];
  /** Paragraphs after the usage. */
  details?: readonly string[];
  flags: readonly Flag[];
  positionals?: Positionals;
  /** Subcommands, chosen by the first argument; `defaultSubcommand` runs when there is none. */
  subcommands?: readonly Command[];
  defaultSubcommand?: string;
  /**
   * The exit code of the command's own failures, bad usage included (default: 2 for bad usage, 1 for
   * a failure). A command that exits with another program's code (`exec`) needs one that code cannot
   * be mistaken for.
   */
  ownFailureCode?: number;
  /** Resolves with the exit code. Absent when the command only dispatches to subcommands. */
  run?: (args: ParsedArgs, io: CliIo) => Promise<number> | number;
}

/** `--help` / `-h`: every command takes it, so it is not among a command's own flags. */
export const HELP_FLAG: Flag = { name: 'help', type: 'boolean', description: 'Show this help.' };

/** A number-looking argument (`-1`, `-0.5`) is a value, never a flag. */
const NUMBER_LIKE = /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The placeholder of a flag's value in the help and in errors. */
export function placeholder(flag: Flag): string {
  if (flag.type === 'boolean') return '';
  if (flag.value) return flag.value;
  const words = [...(flag.choices ?? [(flag.type === 'string' ? 'value' : 'n')]), ...(flag.nullWords ?? [])];
  return `<${words.join('|')}>`;
}

/** Parse `argv` (the arguments after the command's name) by `command`'s definitions. */
export function parseCommandLine(command: Pick<Command, 'name' | 'flags' | 'positionals'>, argv: readonly string[]): ParsedArgs & { help: boolean } {
  const byName = new Map(command.flags.map((f) => [f.name, f]));
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  let help = false;
  // The first problem is reported, unless --help appears anywhere: then the help wins.
  let problem: string | undefined;
  const fail = (message: string) => void (problem ??= message);
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (token === '--help' || token === '-h') {
      help = true;
      continue;
    }
    if (!token.startsWith('-') || token === '-' || NUMBER_LIKE.test(token)) {
      positionals.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const name = eq === -1 ? token.slice(2) : token.slice(2, eq);
    const inline = eq === -1 ? undefined : token.slice(eq + 1);
    const negated = name.startsWith('no-') ? byName.get(name.slice(3)) : undefined;
    const flag = token.startsWith('--') ? byName.get(name) : undefined;
    if (!flag && negated?.negatable) {
      if (inline !== undefined) fail(`--${name} takes no value`);
      else values[negated.name] = false;
      continue;
    }
    if (!flag) {
      fail(unknownFlag(token.slice(0, eq === -1 ? undefined : eq), command));
      continue;
    }
    if (flag.type === 'boolean') {
      if (inline !== undefined) fail(`--${name} takes no value${flag.negatable ? ` (turn it off with --no-${name})` : ''}`);
      else values[flag.name] = true;
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && next !== '-' && !NUMBER_LIKE.test(next))) {
        fail(`--${name} needs a value ${placeholder(flag)}${next === undefined ? '' : `, got the flag ${next}`}`);
        continue;
      }
      raw = next;
      i++;
    }
    try {
      const value = convert(flag, raw);
      if (flag.repeatable) values[flag.name] = [...((values[flag.name] as unknown[] | undefined) ?? []), value];
      else values[flag.name] = value;
    } catch (err) {
      if (!(err instanceof CommandUsageError)) throw err;
      fail(err.message);
    }
  }
  if (!help) {
    const missing = command.flags.find((f) => f.required && values[f.name] === undefined);
    if (missing) fail(`"${command.name}" needs --${missing.name} ${placeholder(missing)}: ${missing.description}`);
    const p = command.positionals ?? { name: '', description: '', min: 0, max: 0 };
    if (positionals.length < p.min) fail(`"${command.name}" needs ${p.min > 1 ? `${p.min} ` : ''}${p.name}: ${p.description}`);
    else if (positionals.length > p.max) {
      const extra = positionals.slice(p.max);
      fail(p.max === 0 ? `"${command.name}" takes no arguments, got "${extra.join(' ')}"` : `"${command.name}" takes at most ${p.max} ${p.name}, got ${positionals.length}`);
    }
    if (problem !== undefined) throw new CommandUsageError(problem);
  }
  return { values, positionals, help };
}

function unknownFlag(token: string, command: Pick<Command, 'flags'>): string {
  const names = [HELP_FLAG.name, ...command.flags.map((f) => f.name), ...command.flags.filter((f) => f.negatable).map((f) => `no-${f.name}`)];
  return `unknown flag ${token}${didYouMean(token.replace(/^-+/, ''), names, (n) => `--${n}`)}`;
}

/** Convert a flag's raw text by its type; throws `CommandUsageError` saying what is expected. */
export function convert(flag: Flag, raw: string): unknown {
  if (flag.nullWords?.includes(raw)) return null;
  if (flag.choices && !flag.choices.includes(raw)) {
    throw new CommandUsageError(`--${flag.name} expects ${listWords([...flag.choices, ...(flag.nullWords ?? [])])}, got "${raw}"${didYouMean(raw, flag.choices)}`);
  }
  if (flag.type === 'integer' || flag.type === 'number') {
    const n = Number(raw);
    const wellFormed = flag.type === 'integer' ? /^-?\d+$/.test(raw) : raw.trim() !== '' && Number.isFinite(n);
    if (!wellFormed || !inRanges(n, flag.ranges)) {
      throw new CommandUsageError(`--${flag.name} expects ${describeNumber(flag)}${flag.nullWords?.length ? ` or ${listWords(flag.nullWords)}` : ''}, got "${raw}"`);
    }
    return n;
  }
  return flag.convert ? flag.convert(raw) : raw;
}

function inRanges(n: number, ranges: readonly NumberRange[] | undefined): boolean {
  if (!ranges || ranges.length === 0) return true;
  return ranges.some((r) => (r.min === undefined || (r.exclusiveMin ? n > r.min : n >= r.min)) && (r.max === undefined || n <= r.max));
}

/** "a non-negative integer up to 65535", "a number greater than 0", "an integer in 1000-1003 or 3000-4999". */
export function describeNumber(flag: Pick<Flag, 'type' | 'ranges'>): string {
  const noun = flag.type === 'integer' ? 'integer' : 'number';
  const ranges = flag.ranges ?? [];
  const article = noun === 'integer' ? 'an' : 'a';
  if (ranges.length > 1) return `${article} ${noun} in ${listWords(ranges.map((r) => `${r.min}-${r.max}`), 'or', false)}`;
  const r = ranges[0] ?? {};
  let text = `${article} ${noun}`;
  if (r.min === 0 && !r.exclusiveMin) text = `a non-negative ${noun}`;
  else if ((r.min === 0 && r.exclusiveMin) || (r.min === 1 && noun === 'integer' && !r.exclusiveMin)) text = `a positive ${noun}`;
  else if (r.min !== undefined) text = `${text} ${r.exclusiveMin ? 'greater than' : 'of at least'} ${r.min}`;
  return r.max === undefined ? text : `${text} up to ${r.max}`;
}

/** `a, b or c` (quoted as values unless `quote` is false). */
export function listWords(words: readonly string[], last = 'or', quote = true): string {
  const shown = words.map((w) => (quote ? `"${w}"` : w));
  return shown.length <= 1 ? (shown[0] ?? '') : `${shown.slice(0, -1).join(', ')} ${last} ${shown[shown.length - 1]}`;
}

/**
 * The scenario subcommands of `ih-mock`:
 *
 *   ih-mock scenarios                    one line per built-in scenario
 *   ih-mock scenarios show NAME          print a built-in scenario's file
 *   ih-mock scenarios generate --seed N  write a generated scenario as YAML (stdout, or --out FILE)
 *   ih-mock validate FILE...             check scenario files; problems by line, column and field
 *
 * Each returns the process exit code: 0 ok, 1 invalid scenario, 2 bad usage.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateScenario, scenarioToYaml } from '../scenarios/generator.js';
import { listScenarios, loadScenario, ScenarioError } from '../scenarios/loader.js';
import { runFromRecording } from './cli-record.js';
import { CommandUsageError, type CliIo } from './cli-io.js';

export const SCENARIO_COMMANDS_HELP = [
  'Scenario commands:',
  '  ih-mock scenarios                          List the built-in scenarios, one line each.',
  '  ih-mock scenarios show <name>              Print a built-in scenario (YAML).',
  '  ih-mock scenarios generate --seed <n> [--duration <s>] [--faults] [--load] [--out <file>]',
  '                                             Write a plausible generated scenario (same seed, same file).',
  '  ih-mock validate <file>...                 Check scenario files; each problem as file:line:column: /field: message.',
].join('\n');

export class ScenarioUsageError extends CommandUsageError {
  override name = 'ScenarioUsageError';
}


export function runScenariosCommand(args: string[], io: CliIo): number {
  const [sub = 'list', ...rest] = args;
  switch (sub) {
    case 'list': {
      if (rest.length > 0) throw new ScenarioUsageError(`"scenarios list" takes no arguments, got ${rest.join(' ')}`);
      const all = listScenarios();
      const width = Math.max(...all.map((s) => s.name.length));
      for (const s of all) io.out(`${s.name.padEnd(width)}  ${firstSentence(s.description)}\n`);
      return 0;
    }
    case 'show': {
      if (rest.length !== 1) throw new ScenarioUsageError('"scenarios show" takes one built-in scenario name (ih-mock scenarios lists them)');
      const entry = listScenarios().find((s) => s.name === rest[0]);
      if (!entry) throw new ScenarioUsageError(`no built-in scenario "${rest[0]}" (built-ins: ${listScenarios().map((s) => s.name).join(', ')})`);
      io.out(readFileSync(entry.path, 'utf8'));
      return 0;
    }
    case 'generate':
      return generate(rest, io);
    case 'from-recording':
      return runFromRecording(rest, io);
    default:
      throw new ScenarioUsageError(`unknown scenarios command "${sub}" (list, show, generate, from-recording)`);
  }
}

function generate(args: string[], io: CliIo): number {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: { seed: { type: 'string' }, duration: { type: 'string' }, faults: { type: 'boolean' }, load: { type: 'boolean' }, out: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ScenarioUsageError((err as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  const seed = wholeNumber('--seed', values['seed'], 0, 2 ** 32 - 1);
  if (seed === undefined) throw new ScenarioUsageError('"scenarios generate" needs --seed <n> (the same seed always gives the same scenario)');
  const duration = wholeNumber('--duration', values['duration'], 1, 86_400);
  const scenario = generateScenario(seed, {
    ...(duration !== undefined ? { minDuration: duration, maxDuration: duration } : {}),
    // Only what was asked for: the options are recorded in the description, e.g. {"faults":true}.
    ...(values['faults'] === true ? { faults: true } : {}),
    ...(values['load'] === true ? { load: true } : {}),
  });
  const yaml = scenarioToYaml(scenario);
  const out = values['out'];
  if (typeof out === 'string') {
    try {
      writeFileSync(out, yaml);
    } catch (err) {
      throw new ScenarioUsageError(`cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    io.err(`wrote ${scenario.name} to ${out}\n`);
  } else {
    io.out(yaml);
  }
  return 0;
}

/** `ih-mock validate FILE...`: every problem of every file, then exit 1 if any was invalid. */
export function runValidateCommand(files: string[], io: CliIo): number {
  if (files.length === 0) throw new ScenarioUsageError('"validate" needs at least one scenario file');
  let failed = 0;
  for (const file of files) {
    try {
      const scenario = loadScenario(file);
      io.out(`${file}: ok (${scenario.name})\n`);
    } catch (err) {
      if (!(err instanceof ScenarioError)) throw err;
      failed++;
      io.err(`${err.message}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

function wholeNumber(flag: string, raw: string | boolean | undefined, min: number, max: number): number | undefined {
  if (raw === undefined || typeof raw === 'boolean') return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw new ScenarioUsageError(`${flag} expects a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}

function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const end = flat.search(/[.!?](\s|$)/);
  return end === -1 ? flat : flat.slice(0, end + 1);
}

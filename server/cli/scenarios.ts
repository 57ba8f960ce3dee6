/**
 * `ih-mock scenarios` and its subcommands:
 *
 *   ih-mock scenarios [list]                 one line per built-in scenario
 *   ih-mock scenarios show NAME              print a built-in scenario's file
 *   ih-mock scenarios generate --seed N      write a generated scenario as YAML (stdout, or --out FILE)
 *   ih-mock scenarios from-recording FILE    reconstruct a scenario from a recorded stream session
 *
 * Each returns the process exit code: 0 ok, 2 bad usage.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { CommandUsageError, type CliIo } from './io.js';
import type { Command, ParsedArgs } from './options.js';

const OUT = { name: 'out', type: 'string', value: '<file>', description: 'Write the scenario (YAML) to this file instead of stdout.' } as const;

const list: Command = {
  name: 'scenarios list',
  summary: 'List the built-in scenarios, one line each (the default).',
  flags: [],
  async run(_args, io) {
    const { listScenarios } = await import('../../scenarios/loader.js');
    const all = listScenarios();
    const width = Math.max(...all.map((s) => s.name.length));
    for (const s of all) io.out(`${s.name.padEnd(width)}  ${firstSentence(s.description)}\n`);
    return 0;
  },
};

const show: Command = {
  name: 'scenarios show',
  summary: 'Print a built-in scenario (YAML): a good start for your own.',
  flags: [],
  positionals: { name: '<name>', description: 'a built-in scenario (ih-mock scenarios lists them)', min: 1, max: 1 },
  async run({ positionals }, io) {
    const { listScenarios } = await import('../../scenarios/loader.js');
    const entry = listScenarios().find((s) => s.name === positionals[0]);
    if (!entry) throw new CommandUsageError(`no built-in scenario "${positionals[0]}" (built-ins: ${listScenarios().map((s) => s.name).join(', ')})`);
    io.out(readFileSync(entry.path, 'utf8'));
    return 0;
  },
};

const generate: Command = {
  name: 'scenarios generate',
  summary: 'Write a plausible generated scenario: the same seed always gives the same file.',
  flags: [
    { name: 'seed', type: 'integer', ranges: [{ min: 0, max: 2 ** 32 - 1 }], required: true, description: 'Seed of the generator.' },
    { name: 'duration', type: 'integer', value: '<seconds>', ranges: [{ min: 1, max: 86_400 }], description: 'Length of the scenario in seconds (default: drawn from the seed).' },
    { name: 'faults', type: 'boolean', description: 'Add a seeded schedule of faults that do not end the session (delays, dropped windows, throttling, unknown events, errors).' },
    { name: 'load', type: 'boolean', description: 'Add seeded load spans (slower processing; windows may be shed).' },
    OUT,
  ],
  run: runGenerate,
};

const fromRecording: Command = {
  name: 'scenarios from-recording',
  summary: 'Reconstruct a scenario from a recorded stream session (ih-mock record writes recordings).',
  flags: [
    { name: 'session', type: 'integer', ranges: [{ min: 0 }], description: 'Which recorded stream session (default: the first).' },
    { name: 'name', type: 'string', description: 'Name of the scenario (default: from-recording-session-<n>).' },
    OUT,
  ],
  positionals: { name: '<recording>', description: 'a recording file (.jsonl)', min: 1, max: 1 },
  async run({ values, positionals }, io) {
    return (await import('./recording-run.js')).runFromRecording(values, positionals[0]!, io);
  },
};

export const command: Command = {
  name: 'scenarios',
  summary: 'List, show and generate scenarios, or reconstruct one from a recording.',
  flags: [],
  subcommands: [list, show, generate, fromRecording],
  defaultSubcommand: 'list',
};

async function runGenerate({ values }: ParsedArgs, io: CliIo): Promise<number> {
  const { generateScenario, scenarioToYaml } = await import('../../scenarios/generator.js');
  const duration = values['duration'] as number | undefined;
  const scenario = generateScenario(values['seed'] as number, {
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
      throw new CommandUsageError(`cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    io.err(`wrote ${scenario.name} to ${out}\n`);
  } else {
    io.out(yaml);
  }
  return 0;
}

function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const end = flat.search(/[.!?](\s|$)/);
  return end === -1 ? flat : flat.slice(0, end + 1);
}

/** `ih-mock validate FILE...`: every problem of every scenario file, then exit 1 if any was invalid. */
import type { Command } from './options.js';

export const command: Command = {
  name: 'validate',
  summary: 'Check scenario files: each problem as file:line:column: /field: message (exit 1 if any).',
  flags: [],
  positionals: { name: '<file>...', description: 'scenario files (YAML or JSON)', min: 1, max: Infinity },
  async run({ positionals }, io) {
    const { loadScenario, ScenarioError } = await import('../../scenarios/loader.js');
    let failed = 0;
    for (const file of positionals) {
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
  },
};

/** `ih-mock conformance --client "<command>"`: the conformance kit run against your client. */
import type { Transport } from '../../conformance/cases.js';
import type { Command } from './options.js';

/** The kit's transports, and both (a test keeps this in step with the kit's TRANSPORTS). */
export const TRANSPORT_CHOICES = ['stream', 'upload', 'both'] as const satisfies readonly (Transport | 'both')[];

export const command: Command = {
  name: 'conformance',
  summary: 'Run your client (any language: a command) through the conformance cases or property runs, and report.',
  usage: ['--client "<command>" [options]', '--client "<command A>" --client "<command B>" ... [options]', '--clients <file> [options]'],
  details: [
    'Compare clients: --client A --client B (or --clients FILE) runs them all and writes one matrix report, cases × clients, to --report-dir.',
    'Each case: an emulator with a scripted scenario behind a recording proxy, your client pointed at it; the recording is judged by the client invariants. Exit 1 if a case FAILED that the ledger does not expect, 0 otherwise.',
  ],
  flags: [
    { name: 'client', type: 'string', value: '"<command>"', repeatable: true, description: 'The client to test, run through the shell once per case (IH_STREAM_URL, IH_API_KEY, ... in its environment). Give it more than once to compare clients side by side in one matrix report.' },
    { name: 'clients', type: 'string', value: '<file>', description: 'Clients to compare, YAML or JSON: [{name, command, transport?, ledger?}]; with --client, all of them run.' },
    { name: 'cases', type: 'string', value: '<patterns>', description: 'Only these cases: comma-separated ids or patterns, e.g. "4.*,1.2" (default: the whole catalogue).' },
    { name: 'runs', type: 'integer', ranges: [{ min: 1, max: 2 ** 32 - 1 }], description: 'Property runs instead of the catalogue: this many generated scenarios; a failure is shrunk to the smallest failing scenario.' },
    { name: 'seed', type: 'integer', ranges: [{ min: 0, max: 2 ** 32 - 1 }], default: '1', description: 'Seed of the scenarios (the same seed, the same runs).' },
    { name: 'shrink-budget', type: 'string', value: '<budget>', default: '5m', description: 'Property runs: bound shrinking by a time (90s, 5m) and/or a number of runs (200); the best reproducer found by then is written.' },
    { name: 'no-shrink', type: 'boolean', description: 'Property runs: stop at the first failure without shrinking it.' },
    { name: 'out-dir', type: 'string', value: '<dir>', default: '.', description: 'Property runs: where the failing scenario is written (ih-mock-counterexample-seed-<seed>.yaml).' },
    { name: 'scenario-file', type: 'string', value: '<file>', description: 'One case with this scenario (a shrunk counterexample, your own), once per transport.' },
    { name: 'transport', type: 'string', choices: TRANSPORT_CHOICES, default: 'both', description: 'Which endpoints the cases, property runs and --scenario-file exercise.' },
    { name: 'timeout-ms', type: 'integer', ranges: [{ min: 100, max: 2 ** 32 - 1 }], description: 'Time a case gives the client before stopping it (default: from the case\'s scenario, longer than every wait it scripts).' },
    { name: 'ledger', type: 'string', value: '<file>', description: 'Expected deviations of this client, YAML or JSON: {"4.4": ["client.spans-closed"]}; a FAILED case whose errors are all listed does not fail the run.' },
    { name: 'junit', type: 'string', value: '<file>', description: 'Write a JUnit XML report (for CI).' },
    { name: 'json', type: 'string', value: '<file>', description: 'Write a JSON report.' },
    { name: 'html', type: 'string', value: '<file>', description: 'Write a self-contained HTML report: verdicts, violated invariants with their frames, a timeline of each session.' },
    { name: 'recordings', type: 'string', value: '<dir>', description: 'Keep the recordings of FAILED cases there (default: next to --html, as <name>-recordings/).' },
    { name: 'parallel', type: 'integer', ranges: [{ min: 1, max: 64 }], description: 'Cases (or generated property runs) run at once, each with its own emulator, proxy and client (default: the number of CPU cores, at least 4; 1 if your client cannot run twice at once, e.g. a fixed port or file).' },
    { name: 'report-dir', type: 'string', value: '<dir>', description: 'The matrix report (several clients): <dir>/index.html and matrix.json, and per client report.html, junit.xml, report.json and recordings/ (default ih-mock-conformance-report).' },
  ],
  async run({ values }, io) {
    return (await import('./conformance-run.js')).runConformance(values, io);
  },
};

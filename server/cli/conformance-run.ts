/**
 * What `ih-mock conformance` does once its command line is parsed (the flags are defined and checked
 * in `conformance.ts`): run a client through the case catalogue (or property runs, or one scenario
 * file) and report. Several clients (`--client` more than once, or `--clients FILE`) run side by side
 * into one matrix report. Exit 1 when a case FAILED that the ledger does not expect (for any client),
 * 0 otherwise; 2 on bad usage.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadScenario, ScenarioError } from '../../scenarios/loader.js';
import { CASES, selectCases, TRANSPORTS, type ConformanceCase, type Transport } from '../../conformance/cases.js';
import { describePropertyFailure, parseShrinkBudget, runProperties, type ShrinkBudget } from '../../conformance/properties.js';
import { htmlReport } from '../../conformance/html-report.js';
import { nameOfCommand, readClientsFile, runMatrix, tally, uniqueClients, writeMatrixReports, type MatrixClient } from '../../conformance/matrix.js';
import { caseReporter, consoleMatrix, consoleSummary, jsonReport, junitReport, painter, progressLine, shellWord, useColour } from '../../conformance/reports.js';
import { caseTransport, defaultConcurrency, scenarioCase, type CaseResult, type CatalogueResult } from '../../conformance/runner.js';
import { CommandUsageError, type CliIo } from './io.js';

export class ConformanceUsageError extends CommandUsageError {
  override name = 'ConformanceUsageError';
}


/** Case id → invariant ids whose violations are expected for this client (CI fails only on others). */
type Ledger = Record<string, string[]>;

function readLedger(path: string): Ledger {
  let value: unknown;
  try {
    value = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConformanceUsageError(`cannot read ledger ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  const ok = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string'));
  if (!ok) throw new ConformanceUsageError(`ledger ${path} must map case ids to lists of invariant ids, e.g. {"4.4": ["client.spans-closed"]}`);
  return value as Ledger;
}

/** A FAILED case is a regression unless every error it has is in the ledger for that case. */
function isRegression(r: CaseResult, ledger: Ledger): boolean {
  if (r.verdict !== 'FAILED') return false;
  const expected = ledger[r.id] ?? [];
  return r.violations.some((v) => v.severity === 'error' && !expected.includes(v.invariant));
}

/** Where output goes and what it may look like (the process's own terminal by default). */
export interface ConformanceTerminal {
  /** stdout is a terminal: colour (unless NO_COLOR). */
  stdoutTTY: boolean | undefined;
  /** stderr is a terminal: a progress line is drawn there, at most `columns` wide. */
  stderrTTY: boolean | undefined;
  columns?: number;
  env: Record<string, string | undefined>;
}

const processTerminal = (): ConformanceTerminal => ({ stdoutTTY: process.stdout.isTTY, stderrTTY: process.stderr.isTTY, env: process.env, ...(process.stderr.columns ? { columns: process.stderr.columns } : {}) });

/** Flag values by flag name, converted and checked by the command's definitions (`conformance.ts`). */
type Values = Record<string, unknown>;

export async function runConformance(values: Values, io: CliIo, terminal: ConformanceTerminal = processTerminal()): Promise<number> {
  const flag = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const runs = values['runs'] as number | undefined;
  const seed = (values['seed'] as number | undefined) ?? 1;
  const timeoutMs = values['timeout-ms'] as number | undefined;
  const transportFlag = flag('transport') ?? 'both';
  const transports: readonly Transport[] = transportFlag === 'both' ? TRANSPORTS : [transportFlag as Transport];

  const commands = (values['client'] as string[] | undefined) ?? [];
  if (commands.some((c) => c.trim() === '')) throw new ConformanceUsageError('--client needs a command, e.g. --client "node my-client.js"');
  let clients: MatrixClient[];
  try {
    const listed = flag('clients') === undefined ? [] : readClientsFile(flag('clients')!, transports);
    clients = uniqueClients([...commands.map((command) => ({ name: nameOfCommand(command), command, transports, ledger: null })), ...listed]);
  } catch (err) {
    throw new ConformanceUsageError((err as Error).message);
  }
  if (clients.length === 0) throw new ConformanceUsageError('conformance needs --client "<command>" (the client to test, run once per case), or --clients FILE to compare several');
  const reportDir = flag('report-dir');
  const matrix = clients.length > 1 || reportDir !== undefined;
  if (matrix && (flag('html') || flag('junit') || flag('json'))) throw new ConformanceUsageError('with several clients (or --report-dir) every report goes to --report-dir: leave out --html, --junit and --json');
  if (clients.length > 1 && flag('ledger')) throw new ConformanceUsageError('--ledger is for one client: give each client its ledger in the --clients file');
  const paint = painter(useColour(terminal.stdoutTTY, terminal.env));
  const parallel = (values['parallel'] as number | undefined) ?? defaultConcurrency();

  if (runs !== undefined) {
    if (clients.length > 1) throw new ConformanceUsageError('--runs takes one client at a time');
    const [only] = clients as [MatrixClient];
    let shrinkBudget: ShrinkBudget | undefined;
    if (flag('shrink-budget') !== undefined) {
      try {
        shrinkBudget = parseShrinkBudget(flag('shrink-budget')!);
      } catch (err) {
        throw new ConformanceUsageError(`--shrink-budget: ${(err as Error).message}`);
      }
    }
    io.err(`ih-mock conformance: ${runs} property runs, seed ${seed}\n`);
    const result = await runProperties({ client: { command: only.command }, runs, seed, concurrency: parallel, transports: only.transports, shrink: values['no-shrink'] !== true, ...(shrinkBudget ? { shrinkBudget } : {}), outDir: flag('out-dir') ?? '.', clientCommand: only.command, onRun: (r, n, phase) => io.err(`  ${phase === 'generated' ? 'run' : 'shrink run'} ${n}: ${r.verdict}\n`) });
    if (result.ok) {
      io.out(`${result.runs} property runs passed in ${(result.durationMs / 1000).toFixed(1)} s (seed ${seed})\n`);
      // Reports of passing runs too: a CI job shows what was checked, not an empty artifact.
      writeReports(tally(result.results, result.durationMs), values, io, { seed, runs }, {});
      return 0;
    }
    io.out(describePropertyFailure(result));
    if (result.warning) io.err(`WARNING: ${result.warning}\n`);
    writeReports(tally([result.failure], result.durationMs), values, io, { seed, runs }, {});
    return 1;
  }

  let cases: ConformanceCase[];
  const scenarioFile = flag('scenario-file');
  if (scenarioFile !== undefined) {
    try {
      const scenario = loadScenario(scenarioFile);
      cases = transports.map((transport, i) => scenarioCase(`S${i + 1}`, scenario, transport));
    } catch (err) {
      if (err instanceof ScenarioError) throw new ConformanceUsageError(err.message.split('\n').join(' '));
      throw err;
    }
  } else {
    const patterns = flag('cases')?.split(',').map((p) => p.trim()).filter(Boolean);
    cases = selectCases(patterns, CASES).filter((c) => clients.some((client) => client.transports.includes(caseTransport(c))));
    if (cases.length === 0) throw new ConformanceUsageError(`no ${transportFlag === 'both' ? '' : `${transportFlag} `}case matches ${String(flag('cases'))} (cases: ${CASES.map((c) => c.id).join(', ')})`);
  }
  const ledgers = new Map(clients.map((c) => [c.slug, c.ledger ? readLedger(c.ledger) : flag('ledger') ? readLedger(flag('ledger')!) : {}]));

  /** The command that re-runs one case of one client exactly (same seed, same time limit). */
  const rerun = (client: MatrixClient) => (r: CaseResult) => {
    const which = scenarioFile !== undefined ? ['--scenario-file', shellWord(scenarioFile), '--transport', r.transport] : ['--cases', r.id];
    return ['npx ih-mock conformance --client', shellWord(client.command), ...which, ...(seed !== 1 ? ['--seed', String(seed)] : []), ...(timeoutMs ? ['--timeout-ms', String(timeoutMs)] : [])].join(' ');
  };
  const html = flag('html');
  const recordingsFor = (client: MatrixClient) => (matrix ? join(reportDir ?? DEFAULT_REPORT_DIR, client.slug, 'recordings') : (flag('recordings') ?? (html ? html.replace(/\.html?$/i, '') + '-recordings' : undefined)));
  const nameWidth = Math.max(...clients.map((c) => c.name.length));
  const reporters = new Map(clients.map((c) => [c.slug, caseReporter({ paint, rerun: rerun(c), ...(clients.length > 1 ? { prefix: () => `${paint('bold', c.name.padEnd(nameWidth))}  ` } : {}) })]));
  const jobs = clients.reduce((n, c) => n + cases.filter((k) => c.transports.includes(caseTransport(k))).length, 0);
  const progress = terminal.stderrTTY ? progressLine(jobs, (text) => io.err(text), painter(useColour(terminal.stderrTTY, terminal.env)), terminal.columns) : null;
  const label = (c: MatrixClient, id: string) => (clients.length > 1 ? `${c.name} ${id}` : id);

  const run = await runMatrix(clients, cases, {
    parallel,
    seed,
    ...(timeoutMs ? { timeoutMs } : {}),
    recordingsFor,
    onStart: (c, k) => progress?.started(label(c, k.id)),
    onResult: (c, r) => {
      progress?.clear();
      io.out(`${reporters.get(c.slug)!(r)}\n`);
      progress?.finished(label(c, r.id), r.verdict);
    },
  });
  progress?.clear();

  let failing = 0;
  for (const { client, result } of run.columns) {
    const ledger = ledgers.get(client.slug)!;
    const regressions = result.results.filter((r) => isRegression(r, ledger));
    const expected = result.results.filter((r) => r.verdict === 'FAILED' && !isRegression(r, ledger));
    const who = matrix ? `${client.name}: ` : '';
    if (regressions.length > 0) failing++;
    if (clients.length === 1) io.out(`${consoleSummary(tally(result.results, run.durationMs), paint)}\n`);
    if (expected.length > 0) io.out(`${who}${expected.length} FAILED case(s) are expected by the ledger: ${expected.map((r) => r.id).join(', ')}\n`);
  }
  if (matrix) {
    io.out(`\n${consoleMatrix(cases, run.columns.map((c) => ({ name: c.client.name, results: new Map(c.result.results.map((r) => [r.id, r])) })), paint)}\n`);
    io.out(`${clients.length} clients × ${cases.length} cases in ${(run.durationMs / 1000).toFixed(1)} s (${parallel} at a time)\n`);
    const written = writeMatrixReports(reportDir ?? DEFAULT_REPORT_DIR, run, cases, { rerun });
    io.err(`wrote ${written} (the matrix), and per client its report.html, junit.xml and report.json\n`);
  } else {
    const [only] = run.columns as [{ client: MatrixClient; result: CatalogueResult }];
    writeReports({ ...only.result, durationMs: run.durationMs }, values, io, { seed }, { rerun: rerun(only.client), client: only.client.command });
  }
  return failing > 0 ? 1 : 0;
}

/** Where the matrix report goes without --report-dir. */
const DEFAULT_REPORT_DIR = 'ih-mock-conformance-report';

function writeReports(c: CatalogueResult, values: Values, io: CliIo, meta: Record<string, unknown>, html: { rerun?: (r: CaseResult) => string | null; client?: string }): void {
  const client = (values['client'] as string[] | undefined)?.[0] ?? html.client;
  if (typeof values['json'] === 'string') {
    writeFileSync(values['json'], jsonReport(c, { client, ...meta }));
    io.err(`wrote ${values['json']}\n`);
  }
  if (typeof values['html'] === 'string') {
    writeFileSync(values['html'], htmlReport(c, `ih-mock conformance: ${String(client)}`, { reportDir: dirname(values['html']), ...html }));
    io.err(`wrote ${values['html']}\n`);
  }
  if (typeof values['junit'] === 'string') {
    writeFileSync(values['junit'], junitReport(c, `ih-mock conformance: ${String(client)}`));
    io.err(`wrote ${values['junit']}\n`);
  }
}

/**
 * `ih-mock conformance --client "<command>"`: run a client through the case catalogue (or property
 * runs, or one scenario file) and report. Exit 1 when a case FAILED that the ledger does not expect,
 * 0 otherwise; 2 on bad usage.
 *
 *   --cases 4.*,1.2        only these cases (patterns)
 *   --runs N --seed S      property runs: N generated scenarios instead of the catalogue (--no-shrink: stop at the first failure)
 *   --shrink-budget B      bound shrinking: a time (90s, 5m) and/or a number of runs (200); default 5m
 *   --scenario-file FILE   one case with this scenario (a shrunk counterexample, your own)
 *   --junit FILE --json FILE --html FILE   reports: CI, machines, people (timelines of each session)
 *   --ledger FILE          expected deviations: {"4.4": ["client.spans-closed"], ...} (JSON or YAML)
 *   --timeout-ms N         per case (default: from the case's scenario, longer than every wait it scripts)
 *   --transport T          stream, upload or both (default): which endpoints the cases and runs exercise
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { loadScenario, ScenarioError } from '../scenarios/loader.js';
import { CASES, selectCases, TRANSPORTS, type ConformanceCase, type Transport } from './cases.js';
import { describePropertyFailure, parseShrinkBudget, runProperties, type ShrinkBudget } from './properties.js';
import { htmlReport } from './html-report.js';
import { consoleLine, consoleSummary, jsonReport, junitReport } from './reports.js';
import { runCatalogue, scenarioCase, type CaseResult, type CatalogueResult } from './runner.js';
import { CommandUsageError, type CliIo } from '../server/cli-io.js';

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

export async function runConformance(args: string[], io: CliIo): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        client: { type: 'string' },
        cases: { type: 'string' },
        runs: { type: 'string' },
        seed: { type: 'string' },
        'scenario-file': { type: 'string' },
        junit: { type: 'string' },
        json: { type: 'string' },
        html: { type: 'string' },
        ledger: { type: 'string' },
        'timeout-ms': { type: 'string' },
        'out-dir': { type: 'string' },
        'no-shrink': { type: 'boolean' },
        'shrink-budget': { type: 'string' },
        transport: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConformanceUsageError((err as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  const command = values['client'];
  if (typeof command !== 'string' || command.trim() === '') throw new ConformanceUsageError('conformance needs --client "<command>" (the client to test, run once per case)');
  const whole = (flag: string, min: number) => {
    const raw = values[flag];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!/^\d+$/.test(String(raw)) || n < min || n > 2 ** 32 - 1) throw new ConformanceUsageError(`--${flag} expects a whole number ≥ ${min}, got "${String(raw)}"`);
    return n;
  };
  const runs = whole('runs', 1);
  const seed = whole('seed', 0) ?? 1;
  const timeoutMs = whole('timeout-ms', 100);
  const ledger = typeof values['ledger'] === 'string' ? readLedger(values['ledger']) : {};
  const transportFlag = values['transport'] ?? 'both';
  if (transportFlag !== 'both' && !TRANSPORTS.includes(transportFlag as Transport)) throw new ConformanceUsageError(`--transport expects stream, upload or both, got "${String(transportFlag)}"`);
  const transports: readonly Transport[] = transportFlag === 'both' ? TRANSPORTS : [transportFlag as Transport];
  let shrinkBudget: ShrinkBudget | undefined;
  if (typeof values['shrink-budget'] === 'string') {
    try {
      shrinkBudget = parseShrinkBudget(values['shrink-budget']);
    } catch (err) {
      throw new ConformanceUsageError(`--shrink-budget: ${(err as Error).message}`);
    }
  }
  const client = { command };
  const withTimeout = (c: ConformanceCase): ConformanceCase => (timeoutMs ? { ...c, timeoutMs } : c);

  if (runs !== undefined) {
    io.err(`ih-mock conformance: ${runs} property runs, seed ${seed}\n`);
    const result = await runProperties({ client, runs, seed, transports, shrink: values['no-shrink'] !== true, ...(shrinkBudget ? { shrinkBudget } : {}), outDir: typeof values['out-dir'] === 'string' ? values['out-dir'] : '.', clientCommand: command, onRun: (r, n, phase) => io.err(`  ${phase === 'generated' ? 'run' : 'shrink run'} ${n}: ${r.verdict}\n`) });
    if (result.ok) {
      io.out(`${result.runs} property runs passed in ${(result.durationMs / 1000).toFixed(1)} s (seed ${seed})\n`);
      return 0;
    }
    io.out(describePropertyFailure(result));
    if (result.warning) io.err(`WARNING: ${result.warning}\n`);
    writeReports({ results: [result.failure], counts: { OK: 0, 'NON-STRICT': 0, FAILED: 1, INFORMATIONAL: 0 }, durationMs: result.durationMs }, values, io, { seed, runs });
    return 1;
  }

  let cases: ConformanceCase[];
  if (typeof values['scenario-file'] === 'string') {
    try {
      const scenario = loadScenario(values['scenario-file']);
      cases = transports.map((transport, i) => scenarioCase(`S${i + 1}`, scenario, transport));
    } catch (err) {
      if (err instanceof ScenarioError) throw new ConformanceUsageError(err.message.split('\n').join(' '));
      throw err;
    }
  } else {
    const patterns = typeof values['cases'] === 'string' ? values['cases'].split(',').map((p) => p.trim()).filter(Boolean) : undefined;
    cases = selectCases(patterns, CASES).filter((c) => transports.includes(c.transport ?? 'stream'));
    if (cases.length === 0) throw new ConformanceUsageError(`no ${transportFlag === 'both' ? '' : `${String(transportFlag)} `}case matches ${String(values['cases'])} (cases: ${CASES.map((c) => c.id).join(', ')})`);
  }
  const catalogue = await runCatalogue(cases.map(withTimeout), { client, seed, onResult: (r) => io.out(`${consoleLine(r)}\n`) });
  io.out(`${consoleSummary(catalogue)}\n`);
  writeReports(catalogue, values, io, { seed });
  const regressions = catalogue.results.filter((r) => isRegression(r, ledger));
  const expected = catalogue.results.filter((r) => r.verdict === 'FAILED' && !isRegression(r, ledger));
  if (expected.length > 0) io.out(`${expected.length} FAILED case(s) are expected by the ledger: ${expected.map((r) => r.id).join(', ')}\n`);
  return regressions.length > 0 ? 1 : 0;
}

function writeReports(c: CatalogueResult, values: Record<string, string | boolean | undefined>, io: CliIo, meta: Record<string, unknown>): void {
  const client = values['client'];
  if (typeof values['json'] === 'string') {
    writeFileSync(values['json'], jsonReport(c, { client, ...meta }));
    io.err(`wrote ${values['json']}\n`);
  }
  if (typeof values['html'] === 'string') {
    writeFileSync(values['html'], htmlReport(c, `ih-mock conformance: ${String(client)}`));
    io.err(`wrote ${values['html']}\n`);
  }
  if (typeof values['junit'] === 'string') {
    writeFileSync(values['junit'], junitReport(c, `ih-mock conformance: ${String(client)}`));
    io.err(`wrote ${values['junit']}\n`);
  }
}

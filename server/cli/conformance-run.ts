/**
 * What `ih-mock conformance --client "<command>"` does once its command line is parsed (the flags
 * are defined and checked in `conformance.ts`): run a client through the case catalogue (or property
 * runs, or one scenario file) and report. Exit 1 when a case FAILED that the ledger does not expect,
 * 0 otherwise; 2 on bad usage.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { loadScenario, ScenarioError } from '../../scenarios/loader.js';
import { CASES, selectCases, TRANSPORTS, type ConformanceCase, type Transport } from '../../conformance/cases.js';
import { runProperties } from '../../conformance/properties.js';
import { htmlReport } from '../../conformance/html-report.js';
import { consoleLine, consoleSummary, jsonReport, junitReport } from '../../conformance/reports.js';
import { runCatalogue, scenarioCase, type CaseResult, type CatalogueResult } from '../../conformance/runner.js';
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

/** Flag values by flag name, converted and checked by the command's definitions (`conformance.ts`). */
type Values = Record<string, unknown>;

export async function runConformance(values: Values, io: CliIo): Promise<number> {
  const command = values['client'];
  if (typeof command !== 'string' || command.trim() === '') throw new ConformanceUsageError('conformance needs --client "<command>" (the client to test, run once per case)');
  const runs = values['runs'] as number | undefined;
  const seed = (values['seed'] as number | undefined) ?? 1;
  const timeoutMs = values['timeout-ms'] as number | undefined;
  const ledger = typeof values['ledger'] === 'string' ? readLedger(values['ledger']) : {};
  const transportFlag = (values['transport'] as string | undefined) ?? 'both';
  const transports: readonly Transport[] = transportFlag === 'both' ? TRANSPORTS : [transportFlag as Transport];
  const client = { command };
  const withTimeout = (c: ConformanceCase): ConformanceCase => (timeoutMs ? { ...c, timeoutMs } : c);

  if (runs !== undefined) {
    io.err(`ih-mock conformance: ${runs} property runs, seed ${seed}\n`);
    const result = await runProperties({ client, runs, seed, transports, shrink: values['no-shrink'] !== true, outDir: typeof values['out-dir'] === 'string' ? values['out-dir'] : '.', clientCommand: command, onRun: (r, n) => io.err(`  run ${n}: ${r.verdict}\n`) });
    if (result.ok) {
      io.out(`${result.runs} property runs passed in ${(result.durationMs / 1000).toFixed(1)} s (seed ${seed})\n`);
      return 0;
    }
    io.out(`property failed after ${result.runs} runs (seed ${seed}); the smallest failing scenario:\n${consoleLine(result.failure)}\n  written to ${result.file}\n  replay exactly this case: ${result.replay}\n`);
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

function writeReports(c: CatalogueResult, values: Values, io: CliIo, meta: Record<string, unknown>): void {
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

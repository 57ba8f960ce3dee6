/**
 * Several clients through the same cases, side by side (Autobahn's client matrix): every (client,
 * case) pair is one job, and at most `parallel` jobs run at once (each has its own emulator, proxy
 * and client process, so they do not disturb each other). Jobs are queued case by case, so all
 * clients advance through the catalogue together, the cases with the longest scripted waits first
 * (startOrder). The CLI runs one client the same way.
 *
 * The report folder: `index.html` (the matrix: cases × clients, each verdict linking to the case in
 * that client's report) and `matrix.json`, and per client a folder named by its slug with
 * `report.html`, `junit.xml`, `report.json` and `recordings/` (its FAILED cases' recordings).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { TRANSPORTS, type ConformanceCase, type Transport } from './cases.js';
import { htmlReport, matrixHtmlReport } from './html-report.js';
import { jsonReport, junitReport } from './reports.js';
import { caseTransport, runCase, startOrder, type CaseResult, type CatalogueResult, type Verdict } from './runner.js';

export interface MatrixClient {
  /** Shown in reports; unique in a run. */
  name: string;
  /** A file-name-safe form of the name, unique in a run (its report folder). */
  slug: string;
  command: string;
  /** The endpoints its cases exercise (a client that only streams: ['stream']). */
  transports: readonly Transport[];
  /** A ledger file of expected deviations for this client (from a clients file), else null. */
  ledger: string | null;
}

export interface MatrixOptions {
  /** How many cases run at once, over all clients (at least 1). */
  parallel: number;
  seed?: number;
  /** Per case, instead of the case's own limit. */
  timeoutMs?: number;
  /** Where a client's FAILED cases keep their recordings (undefined: not kept). */
  recordingsFor?: (client: MatrixClient) => string | undefined;
  onStart?: (client: MatrixClient, testCase: ConformanceCase) => void;
  onResult?: (client: MatrixClient, result: CaseResult) => void;
}

export interface MatrixResult {
  /** Per client, its cases in catalogue order; `durationMs` is the sum of its cases' durations. */
  columns: { client: MatrixClient; result: CatalogueResult }[];
  /** Wall time of the whole run. */
  durationMs: number;
}

/** Counts per verdict of some results. */
export function tally(results: readonly CaseResult[], durationMs = results.reduce((sum, r) => sum + r.durationMs, 0)): CatalogueResult {
  const counts: Record<Verdict, number> = { OK: 0, 'NON-STRICT': 0, FAILED: 0, INFORMATIONAL: 0 };
  for (const r of results) counts[r.verdict]++;
  return { results: [...results], counts, durationMs };
}

const casesFor = (client: MatrixClient, cases: readonly ConformanceCase[]) => cases.filter((c) => client.transports.includes(caseTransport(c)));

export async function runMatrix(clients: readonly MatrixClient[], cases: readonly ConformanceCase[], options: MatrixOptions): Promise<MatrixResult> {
  const started = Date.now();
  const byClient = clients.map(() => new Map<string, CaseResult>());
  const jobs = startOrder(cases).flatMap((testCase) => clients.flatMap((client, i) => (casesFor(client, [testCase]).length ? [{ client, i, testCase }] : [])));
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { client, i, testCase } = jobs[next++]!;
      options.onStart?.(client, testCase);
      const keep = options.recordingsFor?.(client);
      const result = await runCase(options.timeoutMs ? { ...testCase, timeoutMs: options.timeoutMs } : testCase, { client: { command: client.command }, seed: options.seed ?? 1, ...(keep ? { keepFailedRecordings: keep } : {}) });
      byClient[i]!.set(testCase.id, result);
      options.onResult?.(client, result);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallel, jobs.length)) }, worker));
  return {
    columns: clients.map((client, i) => ({ client, result: tally(casesFor(client, cases).map((c) => byClient[i]!.get(c.id)!)) })),
    durationMs: Date.now() - started,
  };
}

// ---- The report folder ---------------------------------------------------------------------------

/** Write the matrix report and each client's reports into `dir`; returns the matrix report's path. */
export function writeMatrixReports(dir: string, run: MatrixResult, cases: readonly ConformanceCase[], options: { rerun?: (client: MatrixClient) => (r: CaseResult) => string | null } = {}): string {
  const columns = run.columns.map(({ client, result }) => {
    const folder = join(dir, client.slug);
    mkdirSync(folder, { recursive: true });
    const title = `ih-mock conformance: ${client.name}`;
    writeFileSync(join(folder, 'report.html'), htmlReport(result, title, { reportDir: folder, client: client.command, ...(options.rerun ? { rerun: options.rerun(client) } : {}) }));
    writeFileSync(join(folder, 'junit.xml'), junitReport(result, title));
    writeFileSync(join(folder, 'report.json'), jsonReport(result, { client: client.name, command: client.command }));
    return { name: client.name, command: client.command, result, reportHref: `${encodeURIComponent(client.slug)}/report.html`, junitHref: `${encodeURIComponent(client.slug)}/junit.xml` };
  });
  const matrix = join(dir, 'index.html');
  writeFileSync(matrix, matrixHtmlReport(`ih-mock conformance: ${columns.length} client${columns.length === 1 ? '' : 's'} side by side`, cases, columns, run.durationMs));
  const summary = {
    durationMs: run.durationMs,
    clients: columns.map((c) => ({ name: c.name, command: c.command, counts: c.result.counts, report: c.reportHref, junit: c.junitHref })),
    cases: cases.map((k) => ({ id: k.id, title: k.title, verdicts: Object.fromEntries(columns.map((c) => [c.name, c.result.results.find((r) => r.id === k.id)?.verdict ?? null])) })),
  };
  writeFileSync(join(dir, 'matrix.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return matrix;
}

// ---- Naming clients ----------------------------------------------------------------------------

/** A short name for a command: its script's file name (`node clients/my-client.mjs` → my-client.mjs), else the command. */
export function nameOfCommand(command: string): string {
  const words = command.match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
  const script = words
    .map((w) => w.replace(/^["']|["']$/g, ''))
    .reverse()
    .find((w) => !w.startsWith('-') && (/[/\\]/.test(w) || /\.\w+$/.test(w)));
  const name = script ? basename(script) : command.trim();
  return name.length > 40 ? `${name.slice(0, 39)}…` : name || 'client';
}

/** Names and slugs made unique in order of appearance (`a`, `a (2)`; `a`, `a-2`). */
export function uniqueClients(clients: readonly Omit<MatrixClient, 'slug'>[]): MatrixClient[] {
  const names = new Set<string>();
  const slugs = new Set<string>();
  return clients.map((c) => {
    let name = c.name;
    for (let n = 2; names.has(name); n++) name = `${c.name} (${n})`;
    names.add(name);
    const base = name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || 'client';
    let slug = base;
    for (let n = 2; slugs.has(slug); n++) slug = `${base}-${n}`;
    slugs.add(slug);
    return { ...c, name, slug };
  });
}

const CLIENT_KEYS = new Set(['name', 'command', 'transport', 'ledger']);

/**
 * Clients from a YAML or JSON file: a list (or `{clients: [...]}`) of `{name, command}`, each with
 * an optional `transport` (stream, upload or both) and `ledger` (a ledger file, relative to the
 * clients file). Throws an Error saying what is wrong.
 */
export function readClientsFile(path: string, defaultTransports: readonly Transport[]): Omit<MatrixClient, 'slug'>[] {
  let value: unknown;
  try {
    value = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read clients file ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  const list = Array.isArray(value) ? value : value !== null && typeof value === 'object' ? (value as { clients?: unknown }).clients : undefined;
  const example = 'e.g. [{name: reference, command: "node client.mjs"}, {name: python, command: "python3 client.py", transport: stream}]';
  if (!Array.isArray(list) || list.length === 0) throw new Error(`clients file ${path} must list clients, ${example}`);
  return list.map((entry: unknown, i) => {
    const e = (entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? entry : {}) as Record<string, unknown>;
    const where = `clients file ${path}, client ${i + 1}`;
    const unknown = Object.keys(e).filter((k) => !CLIENT_KEYS.has(k));
    if (unknown.length) throw new Error(`${where}: unknown key ${unknown.join(', ')} (keys: ${[...CLIENT_KEYS].join(', ')})`);
    if (typeof e['command'] !== 'string' || e['command'].trim() === '') throw new Error(`${where}: needs a command, ${example}`);
    if (e['name'] !== undefined && (typeof e['name'] !== 'string' || e['name'].trim() === '')) throw new Error(`${where}: name must be a non-empty string`);
    const transport = e['transport'] ?? null;
    if (transport !== null && transport !== 'both' && !TRANSPORTS.includes(transport as Transport)) throw new Error(`${where}: transport must be stream, upload or both, got ${JSON.stringify(transport)}`);
    if (e['ledger'] !== undefined && typeof e['ledger'] !== 'string') throw new Error(`${where}: ledger must be a file name`);
    return {
      name: typeof e['name'] === 'string' ? e['name'].trim() : nameOfCommand(e['command']),
      command: e['command'],
      transports: transport === null ? defaultTransports : transport === 'both' ? TRANSPORTS : [transport as Transport],
      ledger: typeof e['ledger'] === 'string' ? resolve(dirname(path), e['ledger']) : null,
    };
  });
}

/** Helpers for the conformance kit's tests: the sample clients as commands or in-process, temp folders that clean up. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { CASES } from '../../conformance/cases.js';
import type { CatalogueResult, ClientEnv, ClientUnderTest } from '../../conformance/runner.js';

const CLIENTS = new URL('../../conformance/clients/', import.meta.url);

/** A sample client as the command contract runs it (a subprocess per case). */
export const nodeClient = (file: string): ClientUnderTest => ({ command: `${JSON.stringify(process.execPath)} conformance/clients/${file}` });
export const pythonClient = (file: string): ClientUnderTest => ({ command: `/usr/bin/python3 conformance/clients/${file}` });

type Hooks = Record<string, unknown>;
type Run = (hooks: Hooks, env: ClientEnv) => Promise<number>;

/**
 * A Node sample client run in-process (the shared session of common.mjs with the file's hooks, its
 * log silenced): the same client without a process per case, for tests whose point is the client's
 * behaviour, not the command contract.
 */
export async function inProcessClient(file: string): Promise<ClientUnderTest> {
  const { run } = (await import(new URL('common.mjs', CLIENTS).href)) as { run: Run };
  const hooks = file === 'reference.mjs' ? {} : ((await import(new URL(file, CLIENTS).href)) as { hooks: Hooks }).hooks;
  return { run: (env) => run({ ...hooks, log: () => {} }, env) };
}

/**
 * Run `fn` with a fresh temp folder, removed afterwards whatever happens. (Not a test hook: in
 * concurrent tests the global onTestFinished may fire for another test.)
 */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every case OK (INFORMATIONAL for the cases that only report), with the violations of any that is not. */
export function expectEveryCaseOk(result: CatalogueResult): void {
  const details = (r: CatalogueResult['results'][number]) => (r.verdict === 'OK' || r.verdict === 'INFORMATIONAL' ? '' : r.violations.map((v) => `\n  ${v.invariant}: ${v.message}`).join(''));
  const verdicts = result.results.map((r) => `${r.id} ${r.verdict}${details(r)}`);
  expect(verdicts).toEqual(CASES.map((c) => `${c.id} ${c.informational ? 'INFORMATIONAL' : 'OK'}`));
}

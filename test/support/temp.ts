/** Temporary folders for a test, removed after it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

const made: string[] = [];

/** A new empty folder under the system's temp folder; `useTempDirs` removes it after the test. */
export function tempDir(prefix = 'ih-mock-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Register once per test file: after each test, remove the folders `tempDir` made. */
export function useTempDirs(): void {
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
}

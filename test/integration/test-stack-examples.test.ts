/**
 * The examples of README "Use it from your test stack" and docs/vitest.md are the tested ones: the
 * exec command line is run as written, and the vitest code shown is the example file the suite runs
 * (examples/vitest/stream-client.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { startCli, useCliProcesses } from '../support/cli.js';

useCliProcesses();

const read = (path: string) => readFileSync(join(PACKAGE_ROOT, path), 'utf8');
const VITEST_EXAMPLE = 'examples/vitest/stream-client.test.ts';

/** The fenced blocks of `lang` in the part of `markdown` under the heading `heading`. */
function blocks(markdown: string, heading: string, lang: string): string[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  expect(start, `heading ${heading}`).toBeGreaterThan(-1);
  const rest = markdown.slice(start + heading.length + 2);
  const next = rest.search(/^## /m);
  const section = next === -1 ? rest : rest.slice(0, next);
  return [...section.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((m) => m[1]!);
}

describe('the test-stack examples', { timeout: 120_000 }, () => {
  it('README: the exec command line runs as written and exits 0', async () => {
    const [sh] = blocks(read('README.md'), '## Use it from your test stack', 'sh');
    const line = sh!.trim();
    expect(line).toMatch(/^npx ih-mock exec /);
    const run = startCli(line.replace(/^npx ih-mock /, '').split(/\s+/));
    const { code } = await run.exited;
    await run.outputClosed;
    expect(code, run.stderr()).toBe(0);
    expect(run.stdout()).toContain('got session.ready');
  });

  it('README: the vitest lines shown are lines of the example the suite runs, in order', () => {
    const [ts] = blocks(read('README.md'), '## Use it from your test stack', 'ts');
    const example = read(VITEST_EXAMPLE).split('\n');
    let at = 0;
    for (const line of ts!.split('\n').filter((l) => l.trim() !== '')) {
      const found = example.indexOf(line, at);
      expect(found, `README line not in ${VITEST_EXAMPLE} (in order): ${line}`).toBeGreaterThanOrEqual(at);
      at = found + 1;
    }
  });

  it('docs/vitest.md: its example is the example file, whole', () => {
    const [ts] = blocks(read('docs/vitest.md'), '## Example', 'ts');
    expect(ts).toBe(read(VITEST_EXAMPLE));
  });
});

/**
 * The project's docs stand alone: every relative link in README.md, docs/*.md and the READMEs of
 * conformance/, recordings/ and bench/ names a file of this repository (not one it ignores, not one
 * outside it), a link with an anchor names a heading that exists, and no page cites the spec
 * documents the project was built from, which its users do not have.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../server/paths.js';

const PAGES = [
  'README.md',
  ...readdirSync(join(PACKAGE_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
  'conformance/README.md',
  'recordings/README.md',
  'bench/README.md',
];

/** Top-level folders .gitignore excludes: a link into one works on this machine only. */
const IGNORED_DIRS = readFileSync(join(PACKAGE_ROOT, '.gitignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => /^[^#!*]+\/$/.test(line))
  .map((line) => line.replace(/^\/|\/$/g, ''));

/** The page's lines, with those of fenced code blocks (fences included) blanked, so line numbers still match. */
function outsideFences(markdown: string): string[] {
  const lines: string[] = [];
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === null && marker) fence = marker;
    else if (fence !== null && marker?.startsWith(fence)) fence = null;
    else if (fence === null) {
      lines.push(line);
      continue;
    }
    lines.push('');
  }
  return lines;
}

/** The page's prose: outside fenced blocks, with inline code spans blanked (a link there is not a link). */
function prose(markdown: string): string[] {
  return outsideFences(markdown).map((line) => line.replace(/(`+)[^`]*?\1/g, (span) => ' '.repeat(span.length)));
}

/** Link targets of a page, inline (`[text](target)`, images too) and reference definitions, with line numbers. */
function links(markdown: string): { target: string; line: number }[] {
  const found: { target: string; line: number }[] = [];
  let paragraphOpen = false;
  prose(markdown).forEach((text, index) => {
    for (const match of text.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) found.push({ target: match[1]!, line: index + 1 });
    // A definition cannot interrupt a paragraph: "[client]: the …" inside one is prose.
    const definition = paragraphOpen ? null : /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(text);
    if (definition) found.push({ target: definition[1]!, line: index + 1 });
    paragraphOpen = definition === null && text.trim() !== '';
  });
  return found;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** Every anchor a page defines: its headings (duplicates numbered as GitHub does) and explicit ids. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const text of outsideFences(markdown)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(text)?.[1];
    if (heading !== undefined) {
      const base = slug(heading);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      result.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const match of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) result.add(match[1]!);
  }
  return result;
}

/** What is wrong with one relative link of `page`, or null when it resolves. */
function problemOf(page: string, target: string): string | null {
  const [pathPart = '', anchor] = target.split('#', 2) as [string, string | undefined];
  const file = pathPart === '' ? join(PACKAGE_ROOT, page) : resolve(PACKAGE_ROOT, dirname(page), decodeURIComponent(pathPart));
  const inRepo = relative(PACKAGE_ROOT, file);
  if (inRepo.startsWith('..')) return 'points outside the repository';
  if (IGNORED_DIRS.includes(inRepo.split(sep)[0]!)) return `points into ${inRepo.split(sep)[0]}/, which git ignores`;
  if (!existsSync(file)) return 'names a file that does not exist';
  if (anchor !== undefined && anchor !== '' && extname(file) === '.md' && !anchors(readFileSync(file, 'utf8')).has(decodeURIComponent(anchor))) {
    return `names an anchor #${anchor} that no heading of ${relative(PACKAGE_ROOT, file)} has`;
  }
  return null;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

describe('the docs link only to what the repository holds', () => {
  it.each(PAGES)('every relative link of %s resolves', (page) => {
    const text = readFileSync(join(PACKAGE_ROOT, page), 'utf8');
    const broken = links(text)
      .filter(({ target }) => target !== '' && !isExternal(target))
      .map(({ target, line }) => ({ where: `${page}:${line} ${target}`, problem: problemOf(page, target) }))
      .filter(({ problem }) => problem !== null);
    expect(broken).toEqual([]);
  });

  it.each(PAGES)('%s cites no spec document from outside the repository', (page) => {
    const outside = readFileSync(join(PACKAGE_ROOT, page), 'utf8')
      .split('\n')
      .map((text, index) => ({ text, line: index + 1 }))
      .filter(({ text }) => /\.\.\/shared\/|(^|[^/a-zA-Z])PROTOCOL\.md|seeds\/\d{3}_/.test(text))
      .map(({ line, text }) => `${page}:${line} ${text.trim()}`);
    expect(outside).toEqual([]);
  });
});

describe('the docs the package ships link only to what the package ships', () => {
  it('every relative link of a packaged page names a packaged file', async () => {
    // npm's own file list, as `npm pack` would build it (scripts skipped: the list is all we need).
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: PACKAGE_ROOT, maxBuffer: 16 * 1024 * 1024 });
    const packaged = new Set((JSON.parse(stdout) as [{ files: { path: string }[] }])[0].files.map(({ path }) => path));
    const shippedPages = PAGES.filter((page) => packaged.has(page));
    // The README is also the repository's front page; its pointer to the bench is for contributors.
    const forContributors = (page: string, target: string) => page === 'README.md' && target.startsWith('bench/');
    expect(shippedPages).toContain('docs/vitest.md');
    const missing = shippedPages.flatMap((page) =>
      links(readFileSync(join(PACKAGE_ROOT, page), 'utf8'))
        .filter(({ target }) => target !== '' && !isExternal(target) && !target.startsWith('#') && !forContributors(page, target))
        .map(({ target, line }) => ({ where: `${page}:${line} ${target}`, file: relative(PACKAGE_ROOT, resolve(PACKAGE_ROOT, dirname(page), decodeURIComponent(target.split('#')[0]!))) }))
        .filter(({ file }) => !packaged.has(file.split(sep).join('/')) && ![...packaged].some((path) => path.startsWith(`${file.split(sep).join('/')}/`)))
        .map(({ where }) => where),
    );
    expect(missing).toEqual([]);
  });
});

describe('the link checker itself', () => {
  it('finds inline links and reference definitions, but not links inside code', () => {
    const page = ['[a](docs/errors.md) and ![b](x.png "t")', '`[c](in-code.md)`', '```', '[d](in-fence.md)', '```', '', '[e]: <ref.md>', 'text', '[f]: not-a-definition.md'].join('\n');
    expect(links(page)).toEqual([
      { target: 'docs/errors.md', line: 1 },
      { target: 'x.png', line: 1 },
      { target: 'ref.md', line: 7 },
    ]);
  });

  it('computes anchors as GitHub does', () => {
    const page = ['# 3.4 Segments and media time', '## Load shedding and `coverage.dropped`', '## 422 on the token exchange: `{"detail":[…]}`, not an ih code', '## Uploads', '## Uploads'].join('\n');
    expect([...anchors(page)]).toEqual(['34-segments-and-media-time', 'load-shedding-and-coveragedropped', '422-on-the-token-exchange-detail-not-an-ih-code', 'uploads', 'uploads-1']);
  });

  it('reports a missing file, a missing anchor, a path outside the repository and an ignored folder', () => {
    expect(problemOf('docs/protocol.md', 'errors.md#close-codes')).toBeNull();
    expect(problemOf('README.md', 'docs/no-such-page.md')).toMatch(/does not exist/);
    expect(problemOf('README.md', 'docs/errors.md#no-such-heading')).toMatch(/no heading/);
    expect(problemOf('docs/protocol.md', '../../elsewhere/spec.md')).toMatch(/outside the repository/);
    expect(problemOf('README.md', 'node_modules/ws/README.md')).toMatch(/git ignores/);
  });
});

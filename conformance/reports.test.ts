/**
 * The console reports on hand-made results: when to colour, what a FAILED case prints (how the
 * client ended, once; the command that re-runs it), the progress line and the matrix. (The same
 * from the CLI as a process: test/integration/conformance-reports.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { caseReporter, consoleMatrix, painter, progressLine, shellWord, useColour } from './reports.js';
import type { CaseResult, Verdict } from './runner.js';

function result(id: string, verdict: Verdict, more: Partial<CaseResult> = {}): CaseResult {
  return { id, title: `title ${id}`, description: '', stresses: [], verdict, violations: [], exitCode: 0, durationMs: 10, connections: 1, output: '', stderr: '', transport: 'stream', traces: [], uploads: [], observations: null, recording: null, ...more };
}
const neverConnected = (id: string, stderr: string, exitCode: number | null = 1) =>
  result(id, 'FAILED', { exitCode, stderr, connections: 0, violations: [{ invariant: 'client.connects', frame: null, message: `the client exited with code ${exitCode} without opening a stream session`, severity: 'error' }] });

describe('useColour', () => {
  it('colours a terminal, or whatever FORCE_COLOR asks for; never with NO_COLOR', () => {
    expect(useColour(true, {})).toBe(true);
    expect(useColour(undefined, {})).toBe(false);
    expect(useColour(true, { TERM: 'dumb' })).toBe(false);
    expect(useColour(false, { FORCE_COLOR: '1' })).toBe(true);
    expect(useColour(false, { FORCE_COLOR: '' })).toBe(true);
    expect(useColour(true, { FORCE_COLOR: '0' })).toBe(false);
    expect(useColour(true, { NO_COLOR: '1' })).toBe(false);
    expect(useColour(true, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
    expect(useColour(true, { NO_COLOR: '' })).toBe(true); // no-color.org: only a non-empty value counts
  });
});

describe('caseReporter', () => {
  it('shows how a crashed client ended once, then refers to it; always the command that re-runs the case', () => {
    const report = caseReporter({ rerun: (r) => `npx ih-mock conformance --client x --cases ${r.id}` });
    const stderr = 'file:///c.mjs:2\nconst broken = ;\n               ^\n\nSyntaxError: Unexpected token \';\'\n';
    const first = report(neverConnected('1.1', stderr));
    expect(first).toContain('the client exited with code 1; its stderr ends with:\n');
    expect(first).toContain("│ SyntaxError: Unexpected token ';'");
    expect(first).toContain('re-run: npx ih-mock conformance --client x --cases 1.1');
    const second = report(neverConnected('2.1', stderr));
    expect(second).not.toContain('SyntaxError');
    expect(second).toContain('the client exited with code 1, with the same stderr as in case 1.1');
    // A different ending is shown in full; a stopped client says so.
    expect(report(neverConnected('3.1', 'other'))).toContain('│ other');
    expect(report(neverConnected('4.1', '', null))).toContain('the client was stopped (it did not exit in time); its stderr was empty');
    // OK cases, and a FAILED case whose client exited 0 and connected, say nothing of how it ended.
    expect(report(result('5.1', 'OK', { exitCode: 1, stderr: 'x' }))).toBe('5.1    OK            title 5.1 (10 ms)');
    expect(report(result('6.1', 'FAILED', { stderr: 'x' }))).not.toContain('stderr');
  });

  it('shows only the last lines of a long stderr', () => {
    const stderr = Array.from({ length: 50 }, (_, i) => `line ${i + 1}`).join('\n');
    const text = caseReporter({ stderrLines: 3 })(neverConnected('1.1', stderr));
    expect(text).not.toContain('line 47');
    expect(text).toMatch(/line 48\n.*line 49\n.*line 50$/);
  });

  it('colours the verdict and the marks, and only when painting', () => {
    const r = result('1.1', 'FAILED', { violations: [{ invariant: 'client.x', frame: 2, message: 'm', severity: 'error' }] });
    expect(caseReporter({ paint: painter(true) })(r)).toContain('\x1b[31m\x1b[1mFAILED\x1b[0m        title');
    expect(caseReporter({ paint: painter(false) })(r)).not.toContain('\x1b');
  });
});

describe('shellWord', () => {
  it('quotes for a POSIX shell only what needs it', () => {
    expect(shellWord('node')).toBe('node');
    expect(shellWord('conformance/clients/a.mjs')).toBe('conformance/clients/a.mjs');
    expect(shellWord('"/usr/bin/node" c.mjs')).toBe(`'"/usr/bin/node" c.mjs'`);
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
  });
});

describe('progressLine', () => {
  it('redraws one line in place: done of total, the verdicts so far, what runs', () => {
    const out: string[] = [];
    const p = progressLine(3, (t) => out.push(t));
    p.started('1.1');
    p.started('2.1');
    p.finished('1.1', 'OK');
    expect(out.at(-1)).toBe('\r\x1b[2K[1/3] · 1 OK · running 2.1');
    p.finished('2.1', 'FAILED');
    expect(out.at(-1)).toBe('\r\x1b[2K[2/3] · 1 OK · 1 FAILED');
    p.clear();
    expect(out.at(-1)).toBe('\r\x1b[2K');
    const before = out.length;
    p.clear(); // nothing shown: nothing to erase
    expect(out.length).toBe(before);
  });

  it('never wraps: what runs is cut to the terminal\'s width', () => {
    const out: string[] = [];
    const p = progressLine(40, (t) => out.push(t), painter(false), 30);
    p.started('a-long-client-name 4.1');
    p.started('another-long-client-name 4.1');
    expect(out.at(-1)).toBe('\r\x1b[2K[0/40] · running a-long-clie…');
    expect(out.at(-1)!.length - '\r\x1b[2K'.length).toBeLessThan(30);
  });
});

describe('consoleMatrix', () => {
  it('is cases × clients with each verdict, a dash where a client did not run a case, and the FAILED count per client', () => {
    const text = consoleMatrix(
      [{ id: '1.1', title: 'Handshake' }, { id: '8.1', title: 'Upload' }],
      [
        { name: 'reference', results: new Map([['1.1', result('1.1', 'OK')], ['8.1', result('8.1', 'OK')]]) },
        { name: 'a-very-long-client-name', results: new Map([['1.1', result('1.1', 'FAILED')]]) },
      ],
    );
    const rows = text.split('\n').map((l) => l.trim().split(/\s{2,}/));
    expect(rows[0]).toEqual(['case', 'title', 'reference', 'a-very-long-client-name']);
    expect(rows[1]).toEqual(['1.1', 'Handshake', 'OK', 'FAILED']);
    expect(rows[2]).toEqual(['8.1', 'Upload', 'OK', '—']);
    expect(rows[3]).toEqual(['0 FAILED', '1 FAILED']);
  });
});

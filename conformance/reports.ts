/**
 * Reports of a conformance run: a console line per case (progress), a summary, JSON, and JUnit XML
 * (one testsuite, one testcase per case; FAILED cases carry a <failure> listing the violated
 * invariants with the frames that broke them, NON-STRICT ones a <system-out> with the warnings).
 */
import type { CaseResult, CatalogueResult } from './runner.js';

export function consoleLine(r: CaseResult): string {
  const head = `${r.id.padEnd(6)} ${r.verdict.padEnd(13)} ${r.title} (${r.durationMs} ms)`;
  const details = r.violations.map((v) => `         ${v.severity === 'error' ? '✗' : '!'} ${v.invariant}${v.frame === null ? '' : ` at frame ${v.frame}`}: ${v.message}`);
  return [head, ...details].join('\n');
}

export function consoleSummary(c: CatalogueResult): string {
  const { OK, 'NON-STRICT': nonStrict, FAILED, INFORMATIONAL } = c.counts;
  return `${c.results.length} cases in ${(c.durationMs / 1000).toFixed(1)} s: ${OK} OK, ${nonStrict} NON-STRICT, ${FAILED} FAILED, ${INFORMATIONAL} INFORMATIONAL`;
}

/** JSON report: every case with its verdict and violations; the traces are left out (they can be large). */
export function jsonReport(c: CatalogueResult, meta: Record<string, unknown>): string {
  return `${JSON.stringify({ ...meta, counts: c.counts, durationMs: c.durationMs, results: c.results.map(({ traces: _traces, ...rest }) => rest) }, null, 2)}\n`;
}

function xml(text: string): string {
  return text.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[ch]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

export function junitReport(c: CatalogueResult, suiteName: string): string {
  const failures = c.counts.FAILED;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(suiteName)}" tests="${c.results.length}" failures="${failures}" time="${(c.durationMs / 1000).toFixed(3)}">`,
    `  <testsuite name="${xml(suiteName)}" tests="${c.results.length}" failures="${failures}" skipped="0" time="${(c.durationMs / 1000).toFixed(3)}">`,
  ];
  for (const r of c.results) {
    lines.push(`    <testcase classname="ih-mock.conformance" name="${xml(`${r.id} ${r.title}`)}" time="${(r.durationMs / 1000).toFixed(3)}">`);
    const text = r.violations.map((v) => `${v.severity} ${v.invariant}${v.frame === null ? '' : ` at frame ${v.frame}`}: ${v.message}`).join('\n');
    if (r.verdict === 'FAILED') {
      const first = r.violations.find((v) => v.severity === 'error');
      lines.push(`      <failure message="${xml(first ? `${first.invariant}: ${first.message}` : 'failed')}" type="FAILED">${xml(text)}</failure>`);
    } else if (text) {
      lines.push(`      <system-out>${xml(`${r.verdict}\n${text}`)}</system-out>`);
    }
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

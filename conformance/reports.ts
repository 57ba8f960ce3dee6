/**
 * Reports of a conformance run: the console (a line per case as it finishes, the client's exit code
 * and stderr when it crashed or never connected, the command that re-runs a failing case, a summary,
 * the matrix of several clients, a progress line on a terminal), JSON, and JUnit XML (one testsuite,
 * one testcase per case; FAILED cases carry a <failure> listing the violated invariants with the
 * frames that broke them, NON-STRICT ones a <system-out> with the warnings).
 *
 * Colour: only when the output is a terminal or FORCE_COLOR is set, never with NO_COLOR
 * (https://no-color.org) or when piped; the text is the same either way.
 */
import type { CaseResult, CatalogueResult, Verdict } from './runner.js';

// ---- Colour ------------------------------------------------------------------------------------

/** Whether to colour output going to a stream that is (or is not) a terminal, given the environment. */
export function useColour(isTTY: boolean | undefined, env: Record<string, string | undefined>): boolean {
  if (env['NO_COLOR']) return false;
  const force = env['FORCE_COLOR'];
  if (force !== undefined) return force !== '0' && force !== 'false';
  return isTTY === true && env['TERM'] !== 'dumb';
}

const SGR = { red: 31, green: 32, yellow: 33, blue: 34, cyan: 36, grey: 90, bold: 1, dim: 2 } as const;
type Tone = keyof typeof SGR;

/** Paints text, or leaves it as it is when colour is off. */
export type Paint = (tone: Tone | Tone[], text: string) => string;

export function painter(colour: boolean): Paint {
  if (!colour) return (_tone, text) => text;
  return (tone, text) => `${(Array.isArray(tone) ? tone : [tone]).map((t) => `\x1b[${SGR[t]}m`).join('')}${text}\x1b[0m`;
}

const VERDICT_TONE: Record<Verdict, Tone[]> = { OK: ['green'], 'NON-STRICT': ['yellow'], FAILED: ['red', 'bold'], INFORMATIONAL: ['cyan'] };
const plain = painter(false);

/** A verdict padded to `width` characters, coloured (the padding stays outside the colour codes). */
export function verdictText(v: Verdict, paint: Paint = plain, width = 0): string {
  return paint(VERDICT_TONE[v], v) + ' '.repeat(Math.max(0, width - v.length));
}

// ---- Case lines ----------------------------------------------------------------------------------

const INDENT = '         ';

/** A case's line (id, verdict, title, time) and one line per violation. */
export function consoleLine(r: CaseResult, paint: Paint = plain): string {
  const head = `${r.id.padEnd(6)} ${verdictText(r.verdict, paint, 13)} ${r.title} (${r.durationMs} ms)`;
  const details = r.violations.map((v) => `${INDENT}${v.severity === 'error' ? paint('red', '✗') : paint('yellow', '!')} ${v.invariant}${v.frame === null ? '' : ` at frame ${v.frame}`}: ${v.message}`);
  return [head, ...details].join('\n');
}

/** The client never got going: it could not be run, was stopped, or never opened a session or uploaded. */
function neverStarted(r: CaseResult): boolean {
  return r.violations.some((v) => v.invariant === 'client.connects' || v.invariant === 'client.runs');
}

/** Worth showing how the client ended: a FAILED case where it crashed (a non-zero exit, or stopped) or never connected. */
export function showsClientExit(r: CaseResult): boolean {
  return r.verdict === 'FAILED' && (r.exitCode !== 0 || neverStarted(r));
}

const exitText = (r: CaseResult) => (r.exitCode === null ? 'the client was stopped (it did not exit in time)' : `the client exited with code ${r.exitCode}`);

/** The last `lines` non-empty lines of a text. */
function tail(text: string, lines: number): string[] {
  return text.replace(/\r/g, '').split('\n').filter((l) => l.trim() !== '').slice(-lines);
}

export interface CaseReporterOptions {
  paint?: Paint;
  /** The command that re-runs just this case (null: none). */
  rerun?: (r: CaseResult) => string | null;
  /** Text put before each case's first line (the client's name in a matrix run). */
  prefix?: (r: CaseResult) => string;
  /** How many lines of the client's stderr to show (default 12). */
  stderrLines?: number;
}

/**
 * The console text of each finished case: its line and violations, then, for a FAILED case, how the
 * client ended (the exit code and the tail of its stderr, shown once: a case whose client ended the
 * same way as an earlier one refers to it) and the command that re-runs just this case.
 * Stateful: give it the cases of one client in the order they are printed.
 */
export function caseReporter(options: CaseReporterOptions = {}): (r: CaseResult) => string {
  const paint = options.paint ?? plain;
  const shownIn = new Map<string, string>();
  return (r) => {
    const prefix = options.prefix?.(r) ?? '';
    // Everything under the case's first line is indented past the prefix, so it reads as the case's.
    const under = ' '.repeat(prefix.replace(/\x1b\[[0-9;]*m/g, '').length);
    const lines = consoleLine(r, paint).split('\n').map((l, i) => (i === 0 ? prefix : under) + l);
    if (showsClientExit(r)) {
      const stderr = tail(r.stderr, options.stderrLines ?? 12);
      const key = `${r.exitCode}\n${stderr.join('\n')}`;
      const earlier = shownIn.get(key);
      if (earlier !== undefined) lines.push(`${under}${INDENT}${exitText(r)}, with the same stderr as in case ${earlier}`);
      else if (stderr.length === 0) lines.push(`${under}${INDENT}${exitText(r)}; its stderr was empty`);
      else {
        shownIn.set(key, r.id);
        lines.push(`${under}${INDENT}${exitText(r)}; its stderr ends with:`, ...stderr.map((l) => `${under}${INDENT}  ${paint('grey', '│')} ${l}`));
      }
    }
    const rerun = r.verdict === 'FAILED' ? options.rerun?.(r) : null;
    if (rerun) lines.push(`${under}${INDENT}${paint('dim', 're-run:')} ${rerun}`);
    if (r.recording && r.verdict === 'FAILED') lines.push(`${under}${INDENT}${paint('dim', 'recording:')} ${r.recording}`);
    return lines.join('\n');
  };
}

export function consoleSummary(c: CatalogueResult, paint: Paint = plain): string {
  const { OK, 'NON-STRICT': nonStrict, FAILED, INFORMATIONAL } = c.counts;
  const n = (count: number, v: Verdict) => (count > 0 ? paint(VERDICT_TONE[v], `${count} ${v}`) : `${count} ${v}`);
  return `${c.results.length} cases in ${(c.durationMs / 1000).toFixed(1)} s: ${n(OK, 'OK')}, ${n(nonStrict, 'NON-STRICT')}, ${n(FAILED, 'FAILED')}, ${n(INFORMATIONAL, 'INFORMATIONAL')}`;
}

// ---- Re-running one case -----------------------------------------------------------------------

/** A word for a POSIX shell: as is when it is safe, else single-quoted. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

// ---- Progress ----------------------------------------------------------------------------------

/**
 * The progress line a terminal shows while cases run: how many finished, the verdicts so far, what
 * is running. `write` gets text to write as is (a carriage return and an erase first, so the line is
 * redrawn in place); `clear()` erases it before other output. It is cut to `columns` characters, so
 * it never wraps (a wrapped line could not be erased in place).
 */
export function progressLine(total: number, write: (text: string) => void, paint: Paint = plain, columns = 100) {
  const counts: Record<Verdict, number> = { OK: 0, 'NON-STRICT': 0, FAILED: 0, INFORMATIONAL: 0 };
  const running = new Set<string>();
  let done = 0;
  let shown = false;
  const draw = () => {
    const verdicts = (Object.keys(counts) as Verdict[]).filter((v) => counts[v] > 0).map((v) => [VERDICT_TONE[v], `${counts[v]} ${v}`] as const);
    const head = [`[${done}/${total}]`, ...verdicts.map(([, text]) => text)].join(' · ');
    let now = running.size ? ` · running ${[...running].join(', ')}` : '';
    if (head.length + now.length > columns - 1) now = `${now.slice(0, Math.max(0, columns - 2 - head.length))}…`;
    write(`\r\x1b[2K${[paint('bold', `[${done}/${total}]`), ...verdicts.map(([tone, text]) => paint(tone, text))].join(' · ')}${now}`);
    shown = true;
  };
  return {
    started(label: string) {
      running.add(label);
      draw();
    },
    finished(label: string, verdict: Verdict) {
      running.delete(label);
      counts[verdict]++;
      done++;
      draw();
    },
    clear() {
      if (shown) write('\r\x1b[2K');
      shown = false;
    },
    redraw: draw,
  };
}

// ---- The matrix of several clients ---------------------------------------------------------------

export interface MatrixColumn {
  name: string;
  /** The client's results by case id (a case it did not run is absent). */
  results: ReadonlyMap<string, CaseResult>;
}

/** Cases × clients with each verdict (`—`: not run for that client), then a FAILED count per client. */
export function consoleMatrix(cases: readonly { id: string; title: string }[], columns: readonly MatrixColumn[], paint: Paint = plain): string {
  const titleWidth = Math.min(40, Math.max(5, ...cases.map((c) => c.title.length)));
  const widths = columns.map((c) => Math.max(13, c.name.length));
  const cut = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width));
  const head = `${'case'.padEnd(6)} ${'title'.padEnd(titleWidth)}  ${columns.map((c, i) => c.name.padEnd(widths[i]!)).join('  ')}`;
  const rows = cases.map((k) => {
    const cells = columns.map((c, i) => {
      const r = c.results.get(k.id);
      return r ? verdictText(r.verdict, paint, widths[i]!) : '—'.padEnd(widths[i]!);
    });
    return `${k.id.padEnd(6)} ${cut(k.title, titleWidth)}  ${cells.join('  ')}`;
  });
  const failed = columns.map((c, i) => {
    const n = [...c.results.values()].filter((r) => r.verdict === 'FAILED').length;
    const text = `${n} FAILED`;
    return (n > 0 ? paint(['red', 'bold'], text) : text) + ' '.repeat(Math.max(0, widths[i]! - text.length));
  });
  return [paint('bold', head), ...rows, `${''.padEnd(6)} ${''.padEnd(titleWidth)}  ${failed.join('  ')}`].map((l) => l.trimEnd()).join('\n');
}

// ---- JSON and JUnit ------------------------------------------------------------------------------

/** JSON report: every case with its verdict and violations; the traces and observations are left out (they can be large). */
export function jsonReport(c: CatalogueResult, meta: Record<string, unknown>): string {
  return `${JSON.stringify({ ...meta, counts: c.counts, durationMs: c.durationMs, results: c.results.map(({ traces: _traces, observations: _observations, ...rest }) => rest) }, null, 2)}\n`;
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
      if (r.recording) lines.push(`      <system-out>${xml(`recording of the wire: ${r.recording}`)}</system-out>`);
      if (showsClientExit(r)) lines.push(`      <system-err>${xml(`${exitText(r)}\n${tail(r.stderr, 40).join('\n')}`)}</system-err>`);
    } else if (text) {
      lines.push(`      <system-out>${xml(`${r.verdict}\n${text}`)}</system-out>`);
    }
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

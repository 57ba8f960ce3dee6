/**
 * `ih-mock check FILE...`: apply the server invariants to every stream session of recordings (the
 * shared recording format, docs/recording.md). Prints one line per violation, naming the file, the
 * session, the frame and the invariant; exits 1 if any error-severity invariant was violated.
 */
import { readRecording, RecordingError } from '../server/record/reader.js';
import { checkTrace, severityOf, type CheckResult } from './invariants.js';
import { tracesFromRecording } from './trace.js';

export class CheckUsageError extends Error {
  override name = 'CheckUsageError';
}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Check recordings; returns the results (for tests) and the exit code. */
export function checkRecordings(files: readonly string[]): { results: CheckResult[]; problems: string[] } {
  const results: CheckResult[] = [];
  const problems: string[] = [];
  for (const file of files) {
    let recording;
    try {
      recording = readRecording(file);
    } catch (err) {
      if (err instanceof RecordingError) {
        problems.push(err.message);
        continue;
      }
      throw err;
    }
    for (const p of recording.problems) problems.push(`${file}:${p.line}: ${p.message}`);
    for (const trace of tracesFromRecording(recording)) results.push(checkTrace(trace));
  }
  return { results, problems };
}

export function runCheck(args: string[], io: Io): number {
  const json = args.includes('--json');
  const files = args.filter((a) => a !== '--json');
  if (files.length === 0) throw new CheckUsageError('check needs at least one recording file (ih-mock record writes them)');
  const bad = files.find((f) => f.startsWith('-'));
  if (bad) throw new CheckUsageError(`unknown option ${bad} (check takes recording files and --json)`);
  const { results, problems } = checkRecordings(files);
  const errors = results.reduce((n, r) => n + r.violations.filter((v) => severityOf(v.invariant) === 'error').length, 0);
  if (json) {
    io.out(`${JSON.stringify({ results, problems }, null, 2)}\n`);
  } else {
    for (const p of problems) io.err(`${p}\n`);
    for (const r of results) {
      if (r.violations.length === 0) io.out(`${r.source}: ok (${r.checked.length} invariants)\n`);
      for (const v of r.violations) io.out(`${r.source}: ${v.frame === null ? 'session' : `frame ${v.frame}`}: ${severityOf(v.invariant) === 'error' ? 'FAILED' : 'warning'} ${v.invariant}: ${v.message}\n`);
    }
    io.out(`${results.length} session(s) checked, ${errors} error(s)\n`);
  }
  const unreadable = problems.length > 0 && results.length === 0;
  return errors > 0 || unreadable ? 1 : 0;
}

/**
 * The start-up figures of `npm run bench`: how long `node bin/ih-mock.js` takes from process start
 * to its readiness line (`ih-mock ready at …`, on port 0), and `--version` / `--help` to exit, each
 * next to a baseline started the same way in the same run: a bare Node `http` listener that prints
 * its own readiness line. Every repetition runs the four processes one after another (in a rotating
 * order, so a burst of load on the shared machine does not always hit the same one); each figure is
 * judged on its ratio to the baseline of the same repetition, the median over the repetitions, with
 * the spread shown.
 *
 * Targets (issue 16): the readiness line ≤ 250 ms and ≤ 2.5× the bare listener; `--version` and
 * `--help` ≤ 150 ms, i.e. ≤ 1.5× the listener on the same scale (the machine: 100 ms for
 * the listener). The verdict is on the ratio, which a loaded machine moves far less than wall time;
 * the milliseconds are shown beside it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fmt, median } from './stats.js';
import type { Row } from './table.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const CLI = ['bin/ih-mock.js'];

/** A plain `http` listener on port 0 that prints one line once it listens: the baseline. */
export const BARE_HTTP = ['-e', "require('node:http').createServer().listen(0, '127.0.0.1', function () { process.stdout.write(`ready at http://127.0.0.1:${this.address().port}\\n`); });"];

interface Probe {
  name: 'bare http' | 'readiness' | '--version' | '--help';
  args: string[];
  /** Stop at the first stdout line matching this (then the process is stopped); without it, wait for exit 0. */
  until?: RegExp;
}

const PROBES: readonly Probe[] = [
  { name: 'bare http', args: BARE_HTTP, until: /^ready at /m },
  { name: 'readiness', args: [...CLI, '--port', '0'], until: /^ih-mock ready at /m },
  { name: '--version', args: [...CLI, '--version'] },
  { name: '--help', args: [...CLI, '--help'] },
];

/** Milliseconds from spawning `node <args>` to its line (or its exit); throws if it fails first. */
function timeOne(probe: Probe): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, probe.args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let took: number | undefined;
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      out += text;
      if (took === undefined && probe.until?.test(out)) {
        took = performance.now() - started;
        child.kill('SIGTERM');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => void (err = (err + text).slice(-2000)));
    child.on('error', reject);
    // Resolve once the process is gone, so the next probe never shares the CPU with this one.
    child.on('exit', (code) => {
      if (probe.until) {
        if (took !== undefined) resolve(took);
        else reject(new Error(`${probe.name}: exited (${code}) before its readiness line: ${err.trim()}`));
      } else if (code === 0) {
        resolve(performance.now() - started);
      } else {
        reject(new Error(`${probe.name}: exit code ${code}: ${err.trim()}`));
      }
    });
  });
}

export interface StartupFigure {
  repetitions: number;
  /** Milliseconds per repetition, by probe name. */
  ms: Record<Probe['name'], number[]>;
}

/** Runs every probe `repetitions` times (after one unmeasured warm-up round: disk cache). */
export async function startupFigure(repetitions: number): Promise<StartupFigure> {
  for (const probe of PROBES) await timeOne(probe);
  const ms = Object.fromEntries(PROBES.map((p) => [p.name, [] as number[]])) as StartupFigure['ms'];
  for (let rep = 0; rep < repetitions; rep++) {
    for (let i = 0; i < PROBES.length; i++) {
      const probe = PROBES[(rep + i) % PROBES.length]!;
      ms[probe.name].push(await timeOne(probe));
    }
  }
  return { repetitions, ms };
}

/** The one-line summary for the bench log. */
export function startupSummary(f: StartupFigure): string {
  return (Object.keys(f.ms) as Probe['name'][]).map((name) => `${name} median ${fmt(median(f.ms[name]), 0)} ms`).join(', ');
}

const TARGETS = {
  readiness: { ms: 250, ratio: 2.5 },
  '--version': { ms: 150, ratio: 1.5 },
  '--help': { ms: 150, ratio: 1.5 },
} as const;

/** Rows in the shape of the bench table (`run.ts`). */
export function startupRows(f: StartupFigure | undefined): Row[] {
  if (!f) return [];
  const bare = f.ms['bare http'];
  const spread = (values: number[], decimals = 0) => `${fmt(Math.min(...values), decimals)}–${fmt(Math.max(...values), decimals)}`;
  return (['readiness', '--version', '--help'] as const).map((name) => {
    const values = f.ms[name];
    const ratios = values.map((v, i) => v / bare[i]!);
    const ratio = median(ratios);
    const target = TARGETS[name];
    return {
      figure: name === 'readiness' ? 'Start-up: `node bin/ih-mock.js --port 0` to its readiness line' : `Start-up: \`node bin/ih-mock.js ${name}\` to exit`,
      emulator: `${fmt(median(values), 0)} ms (${spread(values)}, ${f.repetitions} runs)`,
      baseline: `${fmt(median(bare), 0)} ms (${spread(bare)}): bare \`http\` listener to its line`,
      target: `${fmt(ratio, 2)}× (${spread(ratios, 2)}; ≤ ${target.ratio}×, i.e. ≤ ${target.ms} ms for a 100-ms listener)`,
      result: ratio <= target.ratio ? 'PASS' : 'FAIL',
    };
  });
}

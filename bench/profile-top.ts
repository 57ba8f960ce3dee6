/**
 * Print where a server child spent its time, from a V8 CPU profile written by `--cpu-prof`:
 *
 *   npm run bench -- --only=ingest --cpu-prof
 *   npx tsx bench/profile-top.ts .cache/bench-prof/CPU.*.cpuprofile [--top=30]
 *
 * Self time = samples in the function itself; total = samples with the function anywhere on the
 * stack (counted once per sample). Paths are shown relative to the repo; functions are grouped by
 * name and file (line numbers of .ts files would be positions in tsx's generated code).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const REPO = fileURLToPath(new URL('../', import.meta.url));
const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const top = Number(/^--top=(\d+)$/.exec(process.argv.find((a) => a.startsWith('--top=')) ?? '')?.[1] ?? 30);
if (files.length === 0) {
  console.error('usage: npx tsx bench/profile-top.ts FILE.cpuprofile [...] [--top=30]');
  process.exit(2);
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) => {
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(REPO, '');
    // Lines of .ts files are positions in tsx's generated code, not the source: leave them out.
    const where = url && !url.endsWith('.ts') ? `${url}:${n.callFrame.lineNumber + 1}` : url;
    return `${n.callFrame.functionName || '(anonymous)'} ${where}`.trim();
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id)!;
    all += dt;
    if (node.callFrame.functionName === '(idle)') idle += dt;
    const name = label(node);
    self.set(name, (self.get(name) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!);
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + dt);
    }
  });
  const busy = all - idle;
  console.log(`\n${file}: ${(all / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (not idle)`);
  const print = (title: string, m: Map<string, number>) => {
    console.log(`\n${title} (% of busy time)`);
    for (const [name, us] of [...m].filter(([n]) => !n.startsWith('(idle)') && !n.startsWith('(root)')).sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${((100 * us) / busy).toFixed(1).padStart(6)}%  ${(us / 1e3).toFixed(0).padStart(7)} ms  ${name}`);
    }
  };
  print('Self time', self);
  print('Total time', total);
}

/**
 * Where the emulator's per-segment and per-window allocations come from (issue 16: GC was more than
 * half the server's busy time under load). Bytes are counted, not timed, so the figure holds on a
 * busy machine.
 *
 *   npx tsx bench/alloc-profile.ts [sessions=200] [seconds=30]
 *
 * Runs the shipped build (dist/, `npm run build` first) in this process with the default live
 * timing and jitter 0, like the scale figure (bench/scale.ts): `sessions` connections each send the
 * bench's 3-s segment every 3 s for `seconds`, then wait out the model latency. V8's sampling heap
 * profiler (through node:inspector) runs over the whole load, keeping the samples of objects
 * already collected, so it sees every allocation however short-lived. An allocation is the
 * emulator's when a frame of dist/server/ is on its stack (the client in this process and ws's own
 * frame reading are not). Prints the bytes per segment and per window, and the functions of
 * dist/server/ that allocate most (self, and by the first dist/server frame on the stack).
 */
import { Session } from 'node:inspector/promises';
import { createMockServer } from '../dist/server/app.js';
import { closeAll, openMany, paceRealTime } from './client.js';
import { loadBenchMedia } from './media.js';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const sessions = Number(process.argv[2] ?? 200);
const seconds = Number(process.argv[3] ?? 30);
const MODEL_LATENCY_SECONDS = 9.5;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const media = await loadBenchMedia();
let windows = 0;
const mock = await createMockServer({
  port: 0,
  logLevel: 'silent',
  timing: 'live',
  modelLatencyJitterSeconds: 0,
  idleTimeoutSeconds: 86_400,
  maxDurationSeconds: 86_400,
  scenario: 'conversation',
  onWindowEmitted: () => void windows++,
});
const conns = await openMany(mock.streamUrl, sessions, 100);
await sleep(1000);

const inspector = new Session();
inspector.connect();
await inspector.post('HeapProfiler.enable');
await inspector.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
const sends = Math.floor(seconds / 3);
const { sent } = await paceRealTime(conns, media.segment3s, 3000, sends);
await sleep((MODEL_LATENCY_SECONDS + 1) * 1000);
const { profile } = (await inspector.post('HeapProfiler.stopSampling')) as { profile: { head: ProfileNode } };
inspector.disconnect();
closeAll(conns);
await mock.close();

const isServer = (n: ProfileNode) => n.callFrame.url.includes('/dist/server/');
const where = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/dist\//, 'dist/')}:${n.callFrame.lineNumber + 1}`;
const self = new Map<string, number>();
const byEntry = new Map<string, number>();
let serverBytes = 0;
let allBytes = 0;
function walk(node: ProfileNode, entry: string | null, leaf: string | null): void {
  const server = isServer(node);
  const nextEntry = entry ?? (server ? where(node) : null);
  // The innermost dist/server frame: allocations in runtime helpers (JSON.stringify, Buffer) count for their caller.
  const nextLeaf = server ? where(node) : leaf;
  allBytes += node.selfSize;
  if (nextEntry !== null && node.selfSize > 0) {
    serverBytes += node.selfSize;
    byEntry.set(nextEntry, (byEntry.get(nextEntry) ?? 0) + node.selfSize);
    self.set(nextLeaf!, (self.get(nextLeaf!) ?? 0) + node.selfSize);
  }
  for (const child of node.children) walk(child, nextEntry, nextLeaf);
}
walk(profile.head, null, null);

const kb = (b: number) => (b / 1024).toFixed(1);
const top = (m: Map<string, number>, n: number) =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `  ${kb(v).padStart(10)} KB ${((100 * v) / serverBytes).toFixed(1).padStart(5)}%  ${k}`)
    .join('\n');
console.log(`${sessions} sessions, ${sent} segments, ${windows} windows emitted; sampled allocations: ${kb(allBytes)} KB in all, ${kb(serverBytes)} KB under dist/server/`);
console.log(`emulator: ${kb(serverBytes / sent)} KB a segment, or ${kb(serverBytes / Math.max(1, windows))} KB a window (both paths together)`);
console.log(`\nBy innermost dist/server frame:\n${top(self, 25)}`);
console.log(`\nBy outermost dist/server frame (the entry point):\n${top(byEntry, 12)}`);
process.exit(0);

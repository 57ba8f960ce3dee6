/**
 * How many heap objects (and pointer fields) each open session keeps, in the emulator and in bare
 * ws, from two V8 heap snapshots of the same server child: before the sessions open, and after they
 * have streamed in the scale figure's live pattern for a while.
 *
 *   npm run build && npx tsx bench/session-objects.ts [sessions=2000] [sends=5]
 *
 * Why objects and not bytes: a mark-compact visits every live object and follows every pointer in
 * it, so its work grows with these counts; strings and buffers cost little to mark whatever their
 * size. Under the scale figure's traffic the received buffers set off a mark-compact several times
 * a second in either server until `takeMessage` (bare ws still; bench/README.md, "Scale"), and
 * what each one walks decides much of its cost, and the event-loop stalls. Counts, unlike times,
 * do not depend on the machine's load.
 */
import { readFileSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { withChild } from './child-handle.js';
import { closeAll, openMany, paceRealTime } from './client.js';
import { loadBenchMedia } from './media.js';
import type { ChildConfig, ServerKind } from './protocol.js';

const sessions = Number(process.argv[2] ?? 2000);
const sends = Number(process.argv[3] ?? 5);
const DIR = fileURLToPath(new URL('../.cache/session-objects/', import.meta.url));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Counts {
  objects: number;
  pointers: number;
}

function countsOf(path: string): Counts {
  const snapshot = JSON.parse(readFileSync(path, 'utf8')) as { snapshot: { node_count: number; edge_count: number } };
  rmSync(path);
  return { objects: snapshot.snapshot.node_count, pointers: snapshot.snapshot.edge_count };
}

async function measure(kind: ServerKind): Promise<Counts> {
  const media = await loadBenchMedia();
  // The emulator as the scale figure runs it: default live timing, jitter 0, the journal on.
  const config: ChildConfig = kind === 'emulator' ? { kind, timing: 'live', processingJitter: 0, processingRatio: 0, collectLag: false } : { kind, processingRatio: 0, collectLag: false };
  return withChild(config, { cpus: '0' }, async (server) => {
    await sleep(1000); // start-up work after the readiness line is over
    const before = countsOf(await server.call<string>({ cmd: 'heap-snapshot', path: `${DIR}${kind}-before.heapsnapshot` }, 120_000));
    const conns = await openMany(server.url, sessions, 100);
    try {
      await paceRealTime(conns, media.segment3s, 3000, sends);
      await sleep(3000); // mid-stream: each session has windows in flight, as under steady load
      const after = countsOf(await server.call<string>({ cmd: 'heap-snapshot', path: `${DIR}${kind}-after.heapsnapshot` }, 120_000));
      return { objects: (after.objects - before.objects) / sessions, pointers: (after.pointers - before.pointers) / sessions };
    } finally {
      closeAll(conns);
    }
  });
}

await mkdir(DIR, { recursive: true });
const emulator = await measure('emulator');
const bare = await measure('bare');
const row = (name: string, c: Counts) => `| ${name} | ${c.objects.toFixed(1)} | ${c.pointers.toFixed(0)} |`;
console.log(`Heap objects and pointer fields kept per open session (${sessions} sessions, ${sends} segments each, mid-stream):\n`);
console.log('| Server | Objects a session | Pointers a session |\n| --- | ---: | ---: |');
console.log(row('emulator', emulator));
console.log(row('bare ws', bare));
console.log(`\nemulator − bare ws: ${(emulator.objects - bare.objects).toFixed(1)} objects, ${(emulator.pointers - bare.pointers).toFixed(0)} pointers a session`);

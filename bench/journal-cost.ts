/**
 * What the control plane's journal costs, in figures that do not depend on the machine's load as
 * much as wall-clock rows do (bench/README.md, "Control plane cost"):
 *
 *   node --expose-gc --import tsx bench/journal-cost.ts [capacity=10000]
 *
 * Runs the shipped build (dist/, `npm run build` first) in this process, the journal alone:
 * - bytes per entry: heapUsed + arrayBuffers after gc, before the journal is made and once it is
 *   full of a session's traffic (binary in frames, then the events the session sends, as their
 *   texts), divided by its capacity; with the out frames' texts counted apart;
 * - CPU per frame recorded (process.cpuUsage, µs): an in frame (`received` + `decided`, as the
 *   session tap records it) and an out frame, on a full ring (every record evicts).
 */
import { Journal } from '../dist/server/admin/journal.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc --import tsx bench/journal-cost.ts');

const capacity = Number(process.argv[2] ?? 10_000);
const SESSION = '7f3c2a9e-51b4-4d7a-9c1e-2b8f6d0a4e13';
/** One in four frames is an event the server sends (the bench's conversation scenario sends about that many). */
const OUT_EVERY = 4;

/**
 * An event the session sent, as its text: JSON.stringify's result, which V8 builds as a tree of
 * parts, then written to a Buffer as `ws` does when it sends it (which flattens it in place).
 */
function eventText(i: number): string {
  const text = JSON.stringify({
    timestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString().replace('Z', '000Z'),
    correlation_id: SESSION,
    type: 'signal.detected',
    data: { signal_type: 'agreement', start: i * 3, end: null, probability: 0.82 + (i % 10) / 100, window: { start: i * 3, end: i * 3 + 8 } },
  });
  Buffer.from(text);
  return text;
}

function fill(journal: Journal, frames: number, texts: string[]): void {
  for (let i = 0; i < frames; i++) {
    if (i % OUT_EVERY === OUT_EVERY - 1) {
      journal.record(i, 'frame', SESSION, null, 'out', 'signal.detected', null, 'agreement', null, null, null, null, null, texts[i % texts.length]!, null);
    } else {
      const seq = journal.record(i, 'frame', SESSION, null, 'in', 'binary', null, null, 26_000, i, null, null, null, null, null);
      journal.complete(seq, 'binary', 'accepted', null, i, 1);
    }
  }
}

const used = () => {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

// Bytes: the texts exist before (the session made them to send them); the journal adds what it holds.
const outFrames = Math.ceil(capacity / OUT_EVERY);
const texts = Array.from({ length: outFrames }, (_, i) => eventText(i));
const textBytes = texts.reduce((n, t) => n + t.length, 0);
const before = used();
let journal: Journal | null = new Journal(capacity);
const empty = used();
fill(journal, capacity, texts);
const full = used();
console.log(`journal of ${capacity} entries (1 in ${OUT_EVERY} an out frame, texts of ${Math.round(textBytes / outFrames)} chars):`);
console.log(`  columns, allocated once: ${Math.round(empty - before)} bytes = ${((empty - before) / capacity).toFixed(1)} bytes an entry`);
console.log(`  filled, held beyond the columns: ${Math.round(full - empty)} bytes = ${((full - empty) / capacity).toFixed(1)} bytes an entry (the texts are the session's own, made to be sent)`);
journal = null;

// If the texts were not held by the journal, they would die young: what holding them keeps alive.
const withTexts = used();
texts.length = 0;
const withoutTexts = used();
console.log(`  out frames' texts kept alive by the journal: ${Math.round(withTexts - withoutTexts)} bytes = ${((withTexts - withoutTexts) / outFrames).toFixed(1)} bytes an out frame`);

// CPU per frame recorded, on a full ring.
const cpuTexts = Array.from({ length: 1000 }, (_, i) => eventText(i));
const ring = new Journal(capacity);
fill(ring, capacity, cpuTexts);
const FRAMES = 2_000_000;
for (let round = 0; round < 3; round++) {
  const inStart = process.cpuUsage();
  for (let i = 0; i < FRAMES; i++) {
    const seq = ring.record(i, 'frame', SESSION, null, 'in', 'binary', null, null, 26_000, i, null, null, null, null, null);
    ring.complete(seq, 'binary', 'accepted', null, i, 1);
  }
  const inCpu = process.cpuUsage(inStart);
  const outStart = process.cpuUsage();
  for (let i = 0; i < FRAMES; i++) ring.record(i, 'frame', SESSION, null, 'out', 'signal.detected', null, 'agreement', null, null, null, null, null, cpuTexts[i % 1000]!, null);
  const outCpu = process.cpuUsage(outStart);
  const us = (c: NodeJS.CpuUsage) => (((c.user + c.system) / FRAMES) * 1000).toFixed(0);
  console.log(`  round ${round + 1}: ${us(inCpu)} ns CPU an in frame (record + complete), ${us(outCpu)} ns an out frame`);
}

/**
 * Micro-benchmark of the media scanners (`server/media/`) through `MediaTimeline.push`, in one
 * process, no sockets: how fast the emulator turns media bytes into media time.
 *
 *   npx tsx bench/media-scan.ts                  all cases
 *   npx tsx bench/media-scan.ts --ms=500         time budget per case and round (default 400 ms)
 *   npx tsx bench/media-scan.ts --impl=DIR       time another copy of server/media (DIR/timeline.ts), e.g. a saved "before"
 *   npx tsx bench/media-scan.ts --only=webm-10s,webm-live   some cases only
 *
 * Cases (media from `test/support/media.ts`, cached in `.cache/media/`):
 * - webm-10s: self-contained 10-s WebM (VP8 + Opus, 640x360, 30 fps), one message per segment — what
 *   `npm run bench -- --only=ingest` sends; ns/block = time per SimpleBlock/Block;
 * - webm-live: the bench's 600-s live WebM cut into 1-s continuation chunks (cut mid-element), in order;
 * - mp4-10s: self-contained 10-s MP4 (H.264 + AAC, 640x360, 30 fps, moov at the end);
 * - fmp4-10s: the same as fragmented MP4 in one message (init segment + moof/mdat, trun entries);
 * - fmp4-live: 60-s fragmented MP4 cut into 1-s continuation chunks (cuts inside moof headers).
 * Each case: a warm-up, then 5 rounds; prints the median GB/s (1 GB = 10^9 bytes) and ns per block.
 */
import { pathToFileURL } from 'node:url';
import { fragmentedMp4Chunks, liveWebmChunks, readMedia } from '../test/support/media.js';
import type { MediaTimeline as Timeline, MediaTimelineOptions } from '../server/media/timeline.js';
import { LIVE_VIDEO_CODECS } from '../server/media/codecs.js';

let budgetMs = 400;
let implDir: string | null = null;
let only: Set<string> | null = null;
for (const a of process.argv.slice(2)) {
  const ms = /^--ms=(\d+)$/.exec(a);
  const impl = /^--impl=(.+)$/.exec(a);
  const picked = /^--only=(.+)$/.exec(a);
  if (ms) budgetMs = Number(ms[1]);
  else if (impl) implDir = impl[1]!;
  else if (picked) only = new Set(picked[1]!.split(','));
  else {
    console.error(`unknown option ${a}\nusage: npx tsx bench/media-scan.ts [--ms=400] [--impl=DIR] [--only=case,…]`);
    process.exit(2);
  }
}

const timelineUrl = implDir === null ? new URL('../server/media/timeline.js', import.meta.url).href : pathToFileURL(`${implDir.replace(/\/$/, '')}/timeline.ts`).href;
const { MediaTimeline } = (await import(timelineUrl)) as { MediaTimeline: new (o: MediaTimelineOptions) => Timeline };

/** Count SimpleBlock/Block elements of a WebM byte stream (for ns/block); unknown sizes descend. */
function countBlocks(bytes: Uint8Array): number {
  const vint = (b: number) => Math.clz32(b) - 23;
  const containers = new Set([0x18538067, 0x1f43b675, 0xa0]);
  let blocks = 0;
  for (let at = 0; at < bytes.length; ) {
    const idLen = vint(bytes[at]!);
    let id = 0;
    for (let k = 0; k < idLen; k++) id = id * 256 + bytes[at + k]!;
    const sizeLen = vint(bytes[at + idLen]!);
    let size = bytes[at + idLen]! & (0xff >> sizeLen);
    let unknown = size === 0xff >> sizeLen;
    for (let k = 1; k < sizeLen; k++) {
      if (bytes[at + idLen + k] !== 0xff) unknown = false;
      size = size * 256 + bytes[at + idLen + k]!;
    }
    at += idLen + sizeLen;
    if (id === 0xa3 || id === 0xa1) blocks++;
    if (!containers.has(id) && !unknown) at += size;
  }
  return blocks;
}

interface Case {
  name: string;
  /** Messages of one pass; a pass starts with a fresh timeline. */
  messages: Uint8Array[];
  blocks: number | null;
}

/** One pass: a new timeline, every message in order; throws on a rejected message (the benchmark would be measuring errors). */
function pass(messages: Uint8Array[]): number {
  // The server's default codec rule, so reading and checking the codec is part of what is timed
  // (an older --impl without codecs ignores the option).
  const t = new MediaTimeline({ minSegmentSeconds: 3, acceptContinuation: true, videoCodecs: LIVE_VIDEO_CODECS });
  for (const m of messages) {
    const v = t.push(m);
    if (!v.ok) throw new Error(`rejected: ${v.code} ${v.message}`);
  }
  return t.mediaEnd;
}

function measure(c: Case): { gbps: number; nsPerBlock: number | null; media: number } {
  const bytes = c.messages.reduce((n, m) => n + m.length, 0);
  let media = 0;
  const warmEnd = performance.now() + budgetMs;
  while (performance.now() < warmEnd) media = pass(c.messages);
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    let passes = 0;
    const start = process.hrtime.bigint();
    const end = performance.now() + budgetMs;
    do {
      pass(c.messages);
      passes++;
    } while (performance.now() < end);
    const ns = Number(process.hrtime.bigint() - start);
    rounds.push(ns / passes);
  }
  rounds.sort((a, b) => a - b);
  const nsPerPass = rounds[2]!;
  return { gbps: bytes / nsPerPass, nsPerBlock: c.blocks === null ? null : nsPerPass / c.blocks, media };
}

const webm10 = await readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 10, width: 640, height: 360, fps: 30 });
const live = await liveWebmChunks(600, 1);
const mp4 = await readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 10, width: 640, height: 360, fps: 30 });
const fmp4 = await readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 10, width: 640, height: 360, fps: 30, fragmented: true });
const fmp4Live = await fragmentedMp4Chunks(60, 1);

const cases: Case[] = [
  { name: 'webm-10s', messages: [webm10], blocks: countBlocks(webm10) },
  { name: 'webm-live', messages: live, blocks: countBlocks(Buffer.concat(live)) },
  { name: 'mp4-10s', messages: [mp4], blocks: null },
  { name: 'fmp4-10s', messages: [fmp4], blocks: null },
  { name: 'fmp4-live', messages: fmp4Live, blocks: null },
];

console.log(`media-scan (${implDir ?? 'server/media'}), ${budgetMs} ms per round, median of 5`);
console.log('| case | messages | bytes | media s | GB/s | ns/block |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const c of cases) {
  if (only !== null && !only.has(c.name)) continue;
  const r = measure(c);
  const bytes = c.messages.reduce((n, m) => n + m.length, 0);
  console.log(`| ${c.name} | ${c.messages.length} | ${bytes} | ${r.media.toFixed(3)} | ${r.gbps.toFixed(2)} | ${r.nsPerBlock === null ? '' : r.nsPerBlock.toFixed(1)} |`);
}

/**
 * Real test media, made with ffmpeg and cached in `.cache/media/` at the repo root (gitignored).
 *
 * Shared by every test in the repo; the API is deliberately small:
 * - `makeMedia(options)` → path of a file (generated once, then reused);
 * - `readMedia(options)` → its bytes;
 * - `liveWebmChunks(seconds, chunkSeconds)` → a live WebM byte stream cut like MediaRecorder
 *   continuation chunks (only the first holds the header; cuts fall mid-element);
 * - `fragmentedMp4Chunks(seconds, chunkSeconds)` → the same for fragmented MP4;
 * - `ffprobeDuration(path)` → the video stream duration as ffprobe sees it (an independent oracle);
 * - `ffprobeVideoCodec(path)` → the video stream's codec name and tag as ffprobe sees them.
 *
 * Content: testsrc2 video (default 160x120 at 10 fps, keyframe every second; H.264 with B-frames)
 * and a 440 Hz sine tone, so generation takes well under a second per file. Pick the video codec
 * explicitly: ffmpeg's own default for .avi (and for .mp4 without libx264) is its `mpeg4` encoder,
 * MPEG-4 Part 2 (`mp4v` in MP4, FMP4 in AVI), which the emulator refuses by default as the live
 * service does; 'mpeg4' is here for the tests of that refusal. Files are written
 * under a temporary name and renamed, so parallel vitest workers never read a half-written file;
 * a file that exists is reused (delete `.cache/media/` after changing how files are made).
 */

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where generated media lives (repo root/.cache/media). */
export const MEDIA_CACHE_DIR = fileURLToPath(new URL('../../.cache/media/', import.meta.url));

export type MediaContainer = 'webm' | 'mkv' | 'mp4' | 'mov' | 'mpegts' | 'avi';
export type VideoCodec = 'vp8' | 'vp9' | 'h264' | 'mpeg4' | 'hevc' | 'av1' | 'mpeg2' | 'mjpeg';
export type AudioCodec = 'opus' | 'aac' | 'mp3';

export interface MediaOptions {
  container: MediaContainer;
  /** null: audio only. */
  video: VideoCodec | null;
  /** null: video only. */
  audio: AudioCodec | null;
  /** Length of the generated content in seconds. */
  seconds: number;
  /** mp4/mov: fragmented as MediaRecorder writes it (ftyp + moov with mvex, then moof + mdat per keyframe), written to a pipe. */
  fragmented?: boolean;
  /** mp4/mov: moov before mdat (`-movflags +faststart`); default: moov at the end. */
  faststart?: boolean;
  /** webm/mkv: written to a pipe, so the Segment has an unknown size (a live stream); clusters of about 1 s. */
  live?: boolean;
  /** Frames per second (default 10). */
  fps?: number;
  /** Default 160. */
  width?: number;
  /** Default 120. */
  height?: number;
  /** Video bitrate in kbit/s for vp8/vp9 (default 150). */
  videoKbps?: number;
  /** Opus frame length in ms (default: the encoder's 20). Chromium's MediaRecorder writes 60-ms frames. */
  opusFrameMs?: number;
}

/** How a live stream looks: the MediaOptions that shape its content (everything but container, length and liveness). */
export type LiveLook = Pick<MediaOptions, 'video' | 'audio' | 'width' | 'height' | 'fps' | 'videoKbps' | 'opusFrameMs'>;

/** The test kit's default live stream: small and quick to make (VP8 + Opus, 160x120, 10 fps, 150 kbit/s). */
export const SMALL_LIVE_LOOK: LiveLook = { video: 'vp8', audio: 'opus' };

/**
 * What Chromium's MediaRecorder sent from its fake camera in the browser test (measured from
 * `.cache/browser-codealong/`): VP9 640x480 at 20 fps, about 650 kbit/s with Opus in 60-ms frames;
 * about 250 KB per 3-s chunk.
 */
export const CHROMIUM_LIVE_LOOK: LiveLook = { video: 'vp9', audio: 'opus', width: 640, height: 480, fps: 20, videoKbps: 620, opusFrameMs: 60 };

const FORMAT: Record<MediaContainer, { format: string; ext: string }> = {
  webm: { format: 'webm', ext: 'webm' },
  mkv: { format: 'matroska', ext: 'mkv' },
  mp4: { format: 'mp4', ext: 'mp4' },
  mov: { format: 'mov', ext: 'mov' },
  mpegts: { format: 'mpegts', ext: 'ts' },
  avi: { format: 'avi', ext: 'avi' },
};

const VIDEO_ARGS: Record<VideoCodec, string[]> = {
  vp8: ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '150k'],
  vp9: ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '150k'],
  h264: ['-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-pix_fmt', 'yuv420p'], // B-frames, as libx264's default presets make
  mpeg4: ['-c:v', 'mpeg4', '-q:v', '10'], // MPEG-4 Part 2, what OpenCV's VideoWriter writes with the 'mp4v' fourcc
  hevc: ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error', '-pix_fmt', 'yuv420p'],
  av1: ['-c:v', 'libsvtav1', '-preset', '12'],
  mpeg2: ['-c:v', 'mpeg2video', '-q:v', '10'],
  mjpeg: ['-c:v', 'mjpeg', '-q:v', '10', '-pix_fmt', 'yuvj420p'],
};

const AUDIO_ARGS: Record<AudioCodec, string[]> = {
  opus: ['-c:a', 'libopus', '-b:a', '32k'],
  aac: ['-c:a', 'aac', '-b:a', '32k'],
  mp3: ['-c:a', 'libmp3lame', '-b:a', '32k'],
};

function fileName(o: MediaOptions): string {
  const fps = o.fps ?? 10;
  const size = `${o.width ?? 160}x${o.height ?? 120}`;
  const flags = [o.videoKbps ? `${o.videoKbps}k` : '', o.opusFrameMs ? `opus${o.opusFrameMs}ms` : '', o.fragmented ? 'frag' : '', o.faststart ? 'faststart' : '', o.live ? 'live' : ''].filter(Boolean).join('-');
  return `${o.container}-${o.video ?? 'novideo'}-${o.audio ?? 'noaudio'}-${o.seconds}s-${fps}fps-${size}${flags ? `-${flags}` : ''}.${FORMAT[o.container].ext}`;
}

function ffmpegArgs(o: MediaOptions, output: string): string[] {
  const fps = o.fps ?? 10;
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'];
  if (o.video) args.push('-f', 'lavfi', '-i', `testsrc2=size=${o.width ?? 160}x${o.height ?? 120}:rate=${fps}:duration=${o.seconds}`);
  if (o.audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${o.seconds}`);
  if (o.video) args.push(...VIDEO_ARGS[o.video], '-g', String(fps));
  if (o.video && o.videoKbps) args.push('-b:v', `${o.videoKbps}k`); // the last -b:v wins
  if (o.audio) args.push(...AUDIO_ARGS[o.audio]);
  if (o.audio === 'opus' && o.opusFrameMs) args.push('-frame_duration', String(o.opusFrameMs));
  args.push('-threads', '1');
  const movflags: string[] = [];
  if (o.fragmented) movflags.push('frag_keyframe', 'empty_moov', 'default_base_moof');
  if (o.faststart) movflags.push('faststart');
  if (movflags.length) args.push('-movflags', movflags.map((f) => `+${f}`).join(''));
  if (o.live) args.push('-cluster_time_limit', '1000');
  args.push('-f', FORMAT[o.container].format, output);
  return args;
}

const pending = new Map<string, Promise<string>>();

/** Path of a media file with these properties, generated on first use and cached. */
export function makeMedia(options: MediaOptions): Promise<string> {
  if (!options.video && !options.audio) throw new Error('makeMedia: at least one of video and audio');
  const path = join(MEDIA_CACHE_DIR, fileName(options));
  let job = pending.get(path);
  if (!job) {
    job = generate(path, (out) => ffmpegArgs(options, out), options.fragmented === true || options.live === true);
    pending.set(path, job);
  }
  return job;
}

/** Bytes of `makeMedia(options)`. */
export async function readMedia(options: MediaOptions): Promise<Buffer> {
  return readFile(await makeMedia(options));
}

/** Run ffmpeg into a temporary file (or, for `viaPipe`, its stdout) and rename it into place. */
async function generate(path: string, args: (output: string) => string[], viaPipe: boolean): Promise<string> {
  if (existsSync(path)) return path;
  await mkdir(MEDIA_CACHE_DIR, { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    if (viaPipe) {
      // A pipe is not seekable: the muxer cannot go back to fill in sizes, as in a live recorder.
      const { stdout } = await run('ffmpeg', args('pipe:1'), { encoding: 'buffer', maxBuffer: 1 << 30 });
      await writeFile(tmp, stdout);
    } else {
      await run('ffmpeg', args(tmp));
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return path;
}

/**
 * A live WebM byte stream of `seconds` (VP8 + Opus), as one `MediaRecorder.start(chunkSeconds*1000)`
 * delivers it: Segment and Clusters of unknown size, no Cues, cut into about seconds/chunkSeconds
 * chunks at arbitrary byte offsets; only the first chunk holds the EBML header.
 *
 * ffmpeg writing to a pipe leaves the Segment size unknown but still writes Cluster sizes (it
 * buffers each cluster), so the Cluster sizes are rewritten to the unknown-size marker
 * 01 FF FF FF FF FF FF FF, which is what Chromium writes. Streams longer than 60 s are made by
 * looping a 30-s recording with `-stream_loop` and copying (timestamps stay continuous).
 *
 * Cuts (deterministic): cut k is at k/n of the byte length; every odd cut stays there (almost
 * surely inside a SimpleBlock, since blocks are nearly all the bytes), every even cut moves to
 * 2 bytes into the next Cluster ID (inside an element header).
 */
export async function liveWebmChunks(seconds: number, chunkSeconds: number, look: LiveLook = SMALL_LIVE_LOOK): Promise<Buffer[]> {
  const stream = unknownSizeClusters(await readFile(await liveWebm(seconds, look)));
  const clusterId = Buffer.from([0x1f, 0x43, 0xb6, 0x75]);
  return cut(stream, Math.max(1, Math.round(seconds / chunkSeconds)), (base) => {
    const at = stream.indexOf(clusterId, base);
    return at < 0 ? base : at + 2;
  });
}

/**
 * A fragmented MP4 byte stream of `seconds` (H.264 + AAC, fragments of 1 s) cut like
 * `liveWebmChunks`: the first chunk holds ftyp + moov (with mvex) and part of the first fragment;
 * every even cut falls 3 bytes into a moof box header.
 */
export async function fragmentedMp4Chunks(seconds: number, chunkSeconds: number): Promise<Buffer[]> {
  const stream = await readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds, fragmented: true });
  const moof = Buffer.from('moof', 'latin1');
  const moovEnd = stream.indexOf(moof); // the init segment ends where the first fragment starts
  return cut(stream, Math.max(1, Math.round(seconds / chunkSeconds)), (base) => {
    const at = stream.indexOf(moof, base);
    return at < 0 ? base : at - 4 + 3;
  }, moovEnd + 10);
}

/** Cut `bytes` into `n` chunks: cut k at k/n of the length, every even cut moved by `even`; no cut before `minFirst`. */
function cut(bytes: Buffer, n: number, even: (base: number) => number, minFirst = 1): Buffer[] {
  const points: number[] = [];
  for (let k = 1; k < n; k++) {
    const base = Math.floor((bytes.length * k) / n);
    const at = k % 2 === 0 ? even(base) : base;
    const prev = points[points.length - 1] ?? minFirst - 1;
    if (at > prev && at < bytes.length) points.push(at);
  }
  const chunks: Buffer[] = [];
  let from = 0;
  for (const at of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, at));
    from = at;
  }
  return chunks;
}

async function liveWebm(seconds: number, look: LiveLook): Promise<string> {
  if (seconds <= 60) return makeMedia({ ...look, container: 'webm', seconds, live: true });
  const base = await makeMedia({ ...look, container: 'webm', seconds: 30 });
  const loops = Math.ceil(seconds / 30);
  const path = join(MEDIA_CACHE_DIR, fileName({ ...look, container: 'webm', seconds: loops * 30 }).replace(/\.webm$/, '-loop-live.webm'));
  let job = pending.get(path);
  if (!job) {
    const args = (out: string) => ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-stream_loop', String(loops - 1), '-i', base, '-c', 'copy', '-cluster_time_limit', '1000', '-f', 'webm', out];
    job = generate(path, args, true);
    pending.set(path, job);
  }
  return job;
}

/** Length of the EBML variable-size integer starting with `first` (1–8). */
function vintLength(first: number): number {
  if (first === 0) throw new Error('invalid EBML vint');
  return Math.clz32(first) - 23;
}

/** Rewrite every top-level Cluster of a live (unknown-size Segment) WebM to an unknown size, like Chromium. */
function unknownSizeClusters(webm: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  const header = (): { idLen: number; sizeLen: number; size: number } => {
    const idLen = vintLength(webm[at]!);
    const sizeLen = vintLength(webm[at + idLen]!);
    let size = webm[at + idLen]! & (0xff >> sizeLen);
    for (let k = 1; k < sizeLen; k++) size = size * 256 + webm[at + idLen + k]!;
    return { idLen, sizeLen, size };
  };
  // EBML header: copied whole. Segment header: copied (its size is already unknown).
  const ebml = header();
  const segmentAt = at + ebml.idLen + ebml.sizeLen + ebml.size;
  at = segmentAt;
  const segment = header();
  at += segment.idLen + segment.sizeLen;
  out.push(webm.subarray(0, at));
  while (at < webm.length) {
    const h = header();
    const end = at + h.idLen + h.sizeLen + h.size;
    if (webm.readUInt32BE(at) === 0x1f43b675) {
      out.push(webm.subarray(at, at + 4), Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), webm.subarray(at + h.idLen + h.sizeLen, end));
    } else {
      out.push(webm.subarray(at, end));
    }
    at = end;
  }
  return Buffer.concat(out);
}

/** The first video stream's codec as ffprobe reports it: `codec_name` (h264, mpeg4, mpeg2video, …) and `codec_tag_string` (avc1, mp4v, FMP4, …). */
export async function ffprobeVideoCodec(path: string): Promise<{ name: string; tag: string }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,codec_tag_string', '-of', 'json', path]);
  const stream = (JSON.parse(stdout) as { streams?: Array<{ codec_name?: string; codec_tag_string?: string }> }).streams?.[0];
  if (!stream?.codec_name) throw new Error(`ffprobe: no video stream in ${path}`);
  return { name: stream.codec_name, tag: stream.codec_tag_string ?? '' };
}

/**
 * Duration of the first video stream as ffprobe reports it: the stream's `duration`; for Matroska
 * (which has none) the DURATION tag minus the start time; for live files without either, the last
 * packet's end minus the first packet's start (its pts only when ffprobe knows no packet duration,
 * as for browser WebM: then it is one frame short).
 */
export async function ffprobeDuration(path: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=duration,start_time:stream_tags=DURATION', '-of', 'json', path]);
  const stream = (JSON.parse(stdout) as { streams?: Array<{ duration?: string; start_time?: string; tags?: { DURATION?: string } }> }).streams?.[0];
  if (!stream) throw new Error(`ffprobe: no video stream in ${path}`);
  const duration = Number(stream.duration);
  if (Number.isFinite(duration)) return duration;
  const tag = stream.tags?.DURATION?.match(/^(\d+):(\d+):([\d.]+)$/);
  if (tag) return Number(tag[1]) * 3600 + Number(tag[2]) * 60 + Number(tag[3]) - (Number(stream.start_time) || 0);
  const packets = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', path]);
  let first = Infinity;
  let last = -Infinity;
  for (const line of packets.stdout.split('\n')) {
    const [pts, dur] = line.split(',').map(Number);
    if (pts === undefined || !Number.isFinite(pts)) continue;
    first = Math.min(first, pts);
    last = Math.max(last, pts + (Number.isFinite(dur) ? dur! : 0));
  }
  if (!Number.isFinite(first)) throw new Error(`ffprobe: no video packets in ${path}`);
  return last - first;
}

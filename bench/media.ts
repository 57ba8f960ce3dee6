/**
 * The bench's media, all made by `test/support/media.ts` (ffmpeg, cached in `.cache/media/`):
 *
 * - `segment10s`: a self-contained 10-s WebM (VP8 + Opus, 640x360, 30 fps) — what a client that
 *   cuts its recording into files sends; used for ingest throughput.
 * - `segment3s`: the same at 3 s (the service's minimum segment) — one message every 3 s per
 *   session for the event-lag figure.
 * - `loadUploadMedia()` (the upload section only): H.264 + AAC, 1280x720 at 30 fps, in MP4 (moov
 *   at the end), Matroska and MPEG-TS, each just under the 32-MB upload limit (about 31–32 MB).
 * - `chromium3s` / `chromium1s`: one 600-s live WebM that looks like what Chromium's MediaRecorder sent
 *   from its fake camera in the browser test (VP9 640x480 20 fps, ~650 kbit/s, Opus in 60-ms frames;
 *   `CHROMIUM_LIVE_LOOK`), cut like `MediaRecorder.start(3000)` (the seed's browser flow, ~250 KB per
 *   chunk) and `start(1000)`; used for ingest throughput.
 * - `live`: one continuous live WebM stream (VP8 + Opus, 160x120, as the test kit makes it) cut like
 *   `MediaRecorder.start(1000)`: chunk 0 holds the EBML header, every later chunk is a continuation
 *   cut at an arbitrary byte. Longer than 60 s it is a 30-s recording looped with `-c copy`, so its
 *   timestamps keep increasing for the whole length: 10 minutes of media per session is sent as
 *   one 600-s stream, never by resending chunks (timestamps would go back).
 */
import { CHROMIUM_LIVE_LOOK, liveWebmChunks, readMedia, type MediaOptions } from '../test/support/media.js';

export interface BenchMedia {
  segment10s: Buffer;
  segment3s: Buffer;
  /** Continuation chunks of one live stream, `liveChunkSeconds` of media each. */
  live: Buffer[];
  liveSeconds: number;
  liveChunkSeconds: number;
  /** A live stream as Chromium records its fake camera (see CHROMIUM_LIVE_LOOK), as MediaRecorder.start(3000) and start(1000) cut it. */
  chromium3s: Buffer[];
  chromium1s: Buffer[];
}

export const LIVE_SECONDS = 600;
export const LIVE_CHUNK_SECONDS = 1;
/** Length of the Chromium-like stream (a 30-s recording looped): long enough that ingest runs rarely wrap around. */
const CHROMIUM_SECONDS = 600;

export async function loadBenchMedia(): Promise<BenchMedia> {
  const segment = (seconds: number) => readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds, width: 640, height: 360, fps: 30 });
  const [segment10s, segment3s, live, chromium3s, chromium1s] = await Promise.all([
    segment(10),
    segment(3),
    liveWebmChunks(LIVE_SECONDS, LIVE_CHUNK_SECONDS),
    liveWebmChunks(CHROMIUM_SECONDS, 3, CHROMIUM_LIVE_LOOK),
    liveWebmChunks(CHROMIUM_SECONDS, 1, CHROMIUM_LIVE_LOOK),
  ]);
  return { segment10s, segment3s, live, chromium3s, chromium1s, liveSeconds: LIVE_SECONDS, liveChunkSeconds: LIVE_CHUNK_SECONDS };
}

/** Index of the first chunk after `seconds` of media (chunks are cut evenly in bytes, about evenly in time). */
export function chunksFor(media: BenchMedia, seconds: number): number {
  return Math.min(media.live.length, Math.round((seconds / media.liveSeconds) * media.live.length));
}

/** One upload test file: a real recording just under the upload limit. */
export interface UploadMedia {
  name: string;
  label: string;
  bytes: Buffer;
  /** Length of the recording in seconds (its video duration, to check the emulator read all of it). */
  seconds: number;
}

const UPLOAD_FILES: Array<{ name: string; label: string; options: MediaOptions }> = [
  { name: 'mp4', label: 'MP4 (moov at the end)', options: { container: 'mp4', video: 'h264', audio: 'aac', seconds: 37, width: 1280, height: 720, fps: 30 } },
  { name: 'mkv', label: 'Matroska', options: { container: 'mkv', video: 'h264', audio: 'aac', seconds: 37, width: 1280, height: 720, fps: 30 } },
  { name: 'mpegts', label: 'MPEG-TS', options: { container: 'mpegts', video: 'h264', audio: 'aac', seconds: 35, width: 1280, height: 720, fps: 30 } },
];

/** The upload files, each checked to be under `limitBytes` (the emulator's `maxUploadBytes`) and over 90 % of it. */
export async function loadUploadMedia(limitBytes: number): Promise<UploadMedia[]> {
  return Promise.all(
    UPLOAD_FILES.map(async ({ name, label, options }) => {
      const bytes = await readMedia(options);
      if (bytes.length > limitBytes || bytes.length < 0.9 * limitBytes) {
        throw new Error(`bench upload file ${name} is ${bytes.length} bytes, not just under the ${limitBytes}-byte limit: adjust its seconds in bench/media.ts`);
      }
      return { name, label, bytes, seconds: options.seconds };
    }),
  );
}

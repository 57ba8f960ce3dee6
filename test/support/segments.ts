/**
 * Self-contained MP4 segments as clients that write one file per segment make them: a continuous
 * H.264 (or, as OpenCV writes by default, MPEG-4 Part 2 `mp4v`) + AAC recording (from `makeMedia`) cut by ffmpeg's segment muxer without re-encoding, so each
 * file has its own ftyp/moov (moov at the end) and timestamps that restart at 0. Cached in
 * `.cache/media/` like the rest of the test media; the directory is renamed into place whole, so
 * parallel workers never see a partial set.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, rename, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MEDIA_CACHE_DIR, makeMedia, type VideoCodec } from './media.js';

const run = promisify(execFile);

/** Paths of `seconds / segmentSeconds` MP4 files (H.264 with B-frames, or `video`, + AAC, 160x120, 10 fps, a keyframe every second), in order. */
export async function mp4Segments(seconds: number, segmentSeconds: number, video: Extract<VideoCodec, 'h264' | 'mpeg4'> = 'h264'): Promise<string[]> {
  const count = seconds / segmentSeconds;
  if (!Number.isInteger(count) || !Number.isInteger(segmentSeconds) || count < 1) throw new Error('mp4Segments: seconds must be a whole multiple of a whole segmentSeconds');
  const dir = join(MEDIA_CACHE_DIR, `mp4-${video}-aac-${seconds}s-segments-${segmentSeconds}s`);
  if (!existsSync(dir)) {
    const source = await makeMedia({ container: 'mp4', video, audio: 'aac', seconds });
    const tmp = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await mkdir(tmp, { recursive: true });
    try {
      // Keyframes every second, so cuts land exactly on segment boundaries.
      const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-i', source, '-map', '0', '-c', 'copy'];
      args.push('-f', 'segment', '-segment_time', String(segmentSeconds), '-reset_timestamps', '1', '-segment_format', 'mp4', join(tmp, 'segment-%03d.mp4'));
      await run('ffmpeg', args);
      await rename(tmp, dir).catch((err: NodeJS.ErrnoException) => {
        if (!existsSync(dir)) throw err; // else another worker won the race: use its files
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  const files = (await readdir(dir)).filter((f) => f.endsWith('.mp4')).sort();
  if (files.length !== count) throw new Error(`mp4Segments: expected ${count} segments in ${dir}, found ${files.length}`);
  return files.map((f) => join(dir, f));
}

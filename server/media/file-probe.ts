/**
 * `FileProbe`: `probeFile` (detect.ts) for a file that arrives in pieces — the upload path, which
 * must never hold the file in memory. Same verdicts as `probeFile` on the concatenated bytes
 * (`file-probe.test.ts` checks it on real files cut at random offsets).
 *
 * How: the first `DETECT_BYTES` are kept to detect the container from its magic bytes (never from
 * the file name or content type), then they and every later piece go to that container's
 * incremental scanner — `EbmlScanner` (WebM, Matroska), `IsobmffScanner` (MP4, MOV),
 * `TransportStreamScanner` (MPEG-TS), `AviHeaderScanner` (AVI: only its header is read).
 *
 * Invariants: `push` never throws on bad media (the first failure is kept and later pieces are only
 * counted); it throws only on a bug (a non-`MediaError`). Memory is bounded by the detection
 * buffer plus what the scanner carries (see each scanner), whatever the file's length.
 */

import { MediaError } from './common.js';
import { detectContainer, unrecognised, type ContainerFamily, type ProbeResult } from './detect.js';
import { EbmlScanner } from './ebml.js';
import { IsobmffScanner } from './isobmff.js';
import { TS_PACKET } from './mpegts.js';
import { TransportStreamScanner } from './mpegts-scanner.js';
import { AviHeaderScanner } from './avi-scanner.js';

export type { ProbeResult } from './detect.js';
export type ProbeFailure = Extract<ProbeResult, { ok: false }>;

/**
 * Bytes kept before detecting: `detectContainer` looks at most at the packet starts of the first
 * eight MPEG-TS packets, so with this many bytes (or the whole file, if shorter) it decides exactly
 * as it would on the whole file.
 */
export const DETECT_BYTES = 8 * TS_PACKET;

type Scanner =
  | { family: 'ebml'; scanner: EbmlScanner }
  | { family: 'isobmff'; scanner: IsobmffScanner }
  | { family: 'mpegts'; scanner: TransportStreamScanner }
  | { family: 'avi'; scanner: AviHeaderScanner };

/** Incremental whole-file probe. See the module header. */
export class FileProbe {
  private readonly head = new Uint8Array(DETECT_BYTES);
  private headLen = 0;
  private current: Scanner | null = null;
  private failure: ProbeFailure | null = null;
  private total = 0;
  private finished = false;

  /** Bytes pushed so far. */
  get bytes(): number {
    return this.total;
  }

  /** The container family, once detected (null: not recognised; undefined: not enough bytes yet). */
  get family(): ContainerFamily | null | undefined {
    if (this.current) return this.current.family;
    return this.failure?.reason === 'unsupported' ? null : undefined;
  }

  /** The failure already known, if any: no later byte can change it. */
  get failed(): ProbeFailure | null {
    return this.failure;
  }

  /** Consume the next piece of the file. */
  push(chunk: Uint8Array): void {
    if (this.finished) throw new Error('FileProbe.push after finish');
    this.total += chunk.length;
    if (this.failure !== null || chunk.length === 0) return;
    if (this.current === null) {
      const take = Math.min(DETECT_BYTES - this.headLen, chunk.length);
      this.head.set(chunk.subarray(0, take), this.headLen);
      this.headLen += take;
      if (this.headLen < DETECT_BYTES) return;
      this.detect();
      if (this.current === null) return;
      this.feed(this.head);
      this.feed(chunk.subarray(take));
      return;
    }
    this.feed(chunk);
  }

  /** The file ends here: container and video duration, or why it cannot be analyzed. */
  finish(): ProbeResult {
    if (this.finished) throw new Error('FileProbe.finish called twice');
    this.finished = true;
    if (this.current === null && this.failure === null) {
      // A file shorter than DETECT_BYTES: detect on all of it.
      this.detect();
      if (this.current !== null) this.feed(this.head.subarray(0, this.headLen));
    }
    if (this.failure !== null) return this.failure;
    const current = this.current!;
    try {
      switch (current.family) {
        case 'ebml': {
          const s = current.scanner;
          s.finish();
          if (s.hasVideo !== true) return this.fail('corrupt', 'no Tracks element');
          return { ok: true, container: s.docType === 'webm' ? 'webm' : 'mkv', durationSeconds: s.videoSeconds, hasVideo: true, codec: s.videoCodec! };
        }
        case 'isobmff': {
          const s = current.scanner;
          s.finish();
          if (s.moov !== 'done') return this.fail('corrupt', 'no complete moov box');
          const container = s.majorBrand === null || s.majorBrand === 'qt  ' ? 'mov' : 'mp4';
          return { ok: true, container, durationSeconds: s.videoSeconds, hasVideo: true, codec: s.videoCodec! };
        }
        case 'mpegts': {
          const ts = current.scanner.finish();
          return { ok: true, container: 'mpegts', durationSeconds: ts.durationSeconds, hasVideo: true, codec: ts.codec };
        }
        case 'avi': {
          const avi = current.scanner.finish();
          return { ok: true, container: 'avi', durationSeconds: avi.durationSeconds, hasVideo: true, codec: avi.codec };
        }
      }
    } catch (err) {
      return this.fromError(err);
    }
  }

  private detect(): void {
    const head = this.head.subarray(0, this.headLen);
    const family = detectContainer(head);
    switch (family) {
      case null:
        this.fail('unsupported', unrecognised(head));
        return;
      case 'ebml':
        this.current = { family, scanner: new EbmlScanner() };
        return;
      case 'isobmff':
        this.current = { family, scanner: new IsobmffScanner() };
        return;
      case 'mpegts':
        this.current = { family, scanner: new TransportStreamScanner() };
        return;
      case 'avi':
        this.current = { family, scanner: new AviHeaderScanner() };
        return;
    }
  }

  private feed(bytes: Uint8Array): void {
    if (bytes.length === 0 || this.failure !== null) return;
    try {
      this.current!.scanner.push(bytes);
    } catch (err) {
      this.fromError(err);
    }
  }

  private fromError(err: unknown): ProbeFailure {
    if (!(err instanceof MediaError)) throw err;
    return this.fail(err.kind === 'no-video' ? 'no-video' : 'corrupt', err.message);
  }

  private fail(reason: ProbeFailure['reason'], message: string): ProbeFailure {
    this.failure ??= { ok: false, reason, message };
    return this.failure;
  }
}

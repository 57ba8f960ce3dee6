/**
 * The per-session media timeline: how many seconds of media each binary WebSocket message adds,
 * from the container's own timestamps (docs/protocol.md §3.4), never from byte counts or wall-clock.
 *
 * Rules:
 * 1. A message that starts with a container header (WebM/Matroska EBML header, an MP4/MOV box
 *    such as ftyp or moov, MPEG-TS packets, an AVI RIFF header) starts a new *stream* based at the
 *    current `mediaEnd`; any stream open before it is closed, whatever the verdict on the new message. A message
 *    without a header continues the open stream (ih5004 if there is none, or always when
 *    `acceptContinuation` is false). A fragmented-MP4 stream stopped between two top-level boxes
 *    may continue with a message that starts with moof/mdat/styp/…: that is a continuation.
 * 2. Media time within a stream = video timestamps relative to the stream's first video
 *    timestamp; the stream's end = latest video timestamp + that frame's duration (BlockDuration,
 *    DefaultDuration or sample duration, else the median recent frame gap). Only the video track
 *    counts. A message's verdict [start, end) = the stream's end before → after it, offset by the
 *    stream's base; end − start may be 0. Consecutive accepted messages are contiguous.
 * 3. Self-contained segments (WebM/Matroska whose known-size Segment lies entirely in the message,
 *    non-fragmented MP4/MOV, MPEG-TS, AVI) are rejected with ih5006 when shorter than
 *    `minSegmentSeconds − tolerance`. Stream heads (WebM with an unknown-size Segment, fragmented
 *    MP4) and continuation chunks are never rejected for being short: the minimum applies to the
 *    accumulated stream, as the live service's rolling buffer does.
 * 4. ih5001: a header whose track list has no video track (audio-only). ih5004: not a recognised
 *    container, an element/box ID invalid at its level, sizes that cannot be right, a
 *    self-contained file that ends inside an element or has no moov, a continuation with no open
 *    stream. After ih5004 or ih5001 the open stream is dropped: later continuation chunks need a
 *    new header.
 * 5. Codecs (`videoCodecs`): a segment or stream whose video codec is not accepted gets ih5004
 *    naming the codec, checked as soon as the header declaring it has been read (before the 3-s
 *    minimum); the stream is dropped, and its continuation chunks (fragmented-MP4 ones starting
 *    with moof included) get ih5004 naming the same codec until a message with a new header.
 * 6. Messages are accepted or rejected whole: a rejected message adds no media time.
 * 7. Memory: no payload bytes are kept; `retainedBytes()` is at most a partial element header plus
 *    a small field being read, however many messages are pushed.
 */

import { AviHeaderScanner } from './avi-scanner.js';
import { codecRefusal, type VideoCodec } from './codecs.js';
import { MediaError, hexPreview } from './common.js';
import { detectContainer, unrecognised } from './detect.js';
import { EbmlScanner } from './ebml.js';
import { IsobmffScanner } from './isobmff.js';
import { scanTransportStream } from './mpegts.js';

export type Container = 'webm' | 'mp4' | 'mpegts' | 'avi';

export interface MediaTimelineOptions {
  /** Minimum duration of a self-contained segment, in seconds (the live service: 3). */
  minSegmentSeconds: number;
  /** Slack on the minimum, in seconds. Default (null/undefined): one frame of the video track, 0.05 s if unknown. */
  toleranceSeconds?: number | null;
  /** Accept continuation chunks (default true). false reproduces the strict live behaviour of June 2026: a message without a container header gets ih5004. */
  acceptContinuation?: boolean;
  /**
   * Most media one message may add, in seconds (default: no bound). Timestamps that jump further are
   * corrupt, and trusting them would make the session schedule windows for hours of media that never
   * arrived; such a message gets ih5004. The session passes its maximum duration.
   */
  maxMessageSeconds?: number;
  /**
   * Video codecs accepted: values of the `videoCodecs` option (codec names from codecs.ts, or
   * 'any'). Media in another codec gets ih5004 naming it. Default (undefined): every codec, for
   * the recorder and replay, which measure whatever a client sends.
   */
  videoCodecs?: readonly string[];
}

export type SegmentVerdict =
  | {
      ok: true;
      container: Container;
      kind: 'self-contained' | 'stream-head' | 'continuation';
      start: number;
      end: number;
      /** The video codec of the segment or stream; null while a stream's track list has not arrived. */
      codec: VideoCodec | null;
    }
  | { ok: false; code: 'ih5001' | 'ih5004' | 'ih5006'; message: string };

/** Tolerance when no frame duration is known (seconds). */
export const DEFAULT_TOLERANCE_SECONDS = 0.05;

/** Top-level box types a fragmented-MP4 continuation may start with when the stream stopped between boxes. */
const FRAGMENT_BOXES = new Set(['moof', 'mdat', 'styp', 'sidx', 'ssix', 'prft', 'emsg', 'mfra']);

type Stream =
  | { container: 'webm'; scanner: EbmlScanner; base: number; end: number; codec: VideoCodec | null }
  | { container: 'mp4'; scanner: IsobmffScanner; base: number; end: number; codec: VideoCodec | null };

function fail(code: 'ih5001' | 'ih5004' | 'ih5006', message: string): SegmentVerdict {
  return { ok: false, code, message };
}

/** Media time of one stream session. See the module header for the rules. */
export class MediaTimeline {
  private readonly options: Readonly<MediaTimelineOptions>;
  private current: Stream | null = null;
  /** The last stream, if it was refused for its codec: its continuation chunks are refused for the same reason. */
  private refused: { container: Stream['container']; reason: string } | null = null;
  private end = 0;

  constructor(options: MediaTimelineOptions) {
    if (!(options.minSegmentSeconds >= 0)) throw new RangeError('minSegmentSeconds must be a number >= 0');
    if (options.toleranceSeconds != null && !(options.toleranceSeconds >= 0)) throw new RangeError('toleranceSeconds must be >= 0');
    this.options = Object.freeze({ ...options });
  }

  /** Session-cumulative seconds of accepted media. */
  get mediaEnd(): number {
    return this.end;
  }

  /** Bytes carried across messages (a partial element header or small field), for memory checks. */
  retainedBytes(): number {
    return this.current?.scanner.retainedBytes() ?? 0;
  }

  /** Account for one binary message: accepted with the media interval it added, or rejected. */
  push(message: Uint8Array): SegmentVerdict {
    const family = detectContainer(message);
    const continuesFragments =
      family === 'isobmff' &&
      ((this.current?.container === 'mp4' && this.current.scanner.atTopLevelBoundary()) || this.refused?.container === 'mp4') &&
      FRAGMENT_BOXES.has(String.fromCharCode(message[4]!, message[5]!, message[6]!, message[7]!));
    if (family === null || continuesFragments) return this.continuation(message);
    this.current = null; // a header starts a new stream, whatever becomes of it
    this.refused = null;
    try {
      switch (family) {
        case 'ebml':
          return this.webmHeader(message);
        case 'isobmff':
          return this.mp4Header(message);
        case 'mpegts': {
          const ts = scanTransportStream(message);
          return this.selfContained('mpegts', ts.durationSeconds, ts.frameSeconds, ts.codec);
        }
        case 'avi':
          return this.aviSegment(message);
      }
    } catch (err) {
      return this.fromError(err);
    }
  }

  private webmHeader(message: Uint8Array): SegmentVerdict {
    const scanner = new EbmlScanner();
    scanner.push(message);
    if (scanner.segment === 'known') {
      scanner.finish(); // throws if the message stops inside the Segment
      if (scanner.hasVideo === null) return this.reject('ih5004', 'the WebM/Matroska segment has no Tracks element');
      return this.selfContained('webm', scanner.videoSeconds, scanner.frameSeconds, scanner.videoCodec);
    }
    return this.openStream({ container: 'webm', scanner, base: this.end, end: 0, codec: null });
  }

  private mp4Header(message: Uint8Array): SegmentVerdict {
    const scanner = new IsobmffScanner();
    scanner.push(message);
    if (scanner.moov !== 'done') {
      const where = scanner.moov === 'open' ? 'the message ends inside the moov box' : 'no moov box';
      return this.reject('ih5004', `${where}: an MP4/MOV segment needs its moov (or, for fragmented MP4, the whole init segment) in the first message`);
    }
    if (!scanner.fragmented) {
      scanner.finish(); // throws if the message stops inside a box
      return this.selfContained('mp4', scanner.videoSeconds, scanner.frameSeconds, scanner.videoCodec);
    }
    return this.openStream({ container: 'mp4', scanner, base: this.end, end: 0, codec: null });
  }

  /** An AVI file: always self-contained (its header declares the whole file), so it must arrive whole. */
  private aviSegment(message: Uint8Array): SegmentVerdict {
    const scanner = new AviHeaderScanner();
    scanner.push(message);
    const declared = scanner.declaredBytes;
    if (declared !== null && message.length < declared) {
      return this.reject('ih5004', `the AVI segment ends at byte ${message.length}, inside its RIFF chunk of ${declared} bytes: send each AVI file whole, as one message`);
    }
    const avi = scanner.finish();
    return this.selfContained('avi', avi.durationSeconds, avi.frameSeconds, avi.codec);
  }

  private openStream(stream: Stream): SegmentVerdict {
    this.current = stream;
    return this.advance(stream, 'stream-head');
  }

  private continuation(message: Uint8Array): SegmentVerdict {
    if (this.options.acceptContinuation === false) {
      return this.reject('ih5004', `${unrecognisedOrBare(message)}; every segment must be a complete file with its own container header (continuation chunks are not accepted)`);
    }
    const stream = this.current;
    if (stream === null && this.refused !== null) {
      return this.reject('ih5004', `this chunk continues a stream that was refused: ${this.refused.reason}`);
    }
    if (stream === null) {
      return this.reject('ih5004', `${unrecognised(message)}; nor can it continue a stream, because none is open (the first message of a stream must start with its container header)`);
    }
    try {
      stream.scanner.push(message);
    } catch (err) {
      return this.fromError(err);
    }
    return this.advance(stream, 'continuation');
  }

  private advance(stream: Stream, kind: 'stream-head' | 'continuation'): SegmentVerdict {
    if (stream.codec === null) {
      // Read and checked once, as soon as the track list has been read (nearly always in the first message).
      stream.codec = stream.scanner.videoCodec;
      const refusal = this.codecRefusal(stream.codec);
      if (refusal !== null) {
        const verdict = this.reject('ih5004', refusal);
        this.refused = { container: stream.container, reason: refusal };
        return verdict;
      }
    }
    const newEnd = Math.max(stream.end, stream.scanner.videoSeconds);
    const jump = this.implausibleSpan(newEnd - stream.end);
    if (jump) return this.reject('ih5004', jump);
    const start = stream.base + stream.end;
    const end = stream.base + newEnd;
    stream.end = newEnd;
    this.end = end;
    return { ok: true, container: stream.container, kind, start, end, codec: stream.codec };
  }

  private selfContained(container: Container, duration: number, frame: number | null, codec: VideoCodec | null): SegmentVerdict {
    const refusal = this.codecRefusal(codec);
    if (refusal !== null) return this.reject('ih5004', refusal);
    const tolerance = this.options.toleranceSeconds ?? frame ?? DEFAULT_TOLERANCE_SECONDS;
    const min = this.options.minSegmentSeconds;
    if (duration < min - tolerance) {
      return fail(
        'ih5006',
        `the segment holds ${duration.toFixed(3)} s of video; self-contained segments must be at least ${min} s ` +
          `(tolerance ${tolerance.toFixed(3)} s). Send longer segments, or one continuous recording.`,
      );
    }
    const jump = this.implausibleSpan(duration);
    if (jump) return this.reject('ih5004', jump);
    const start = this.end;
    this.end = start + duration;
    return { ok: true, container, kind: 'self-contained', start, end: this.end, codec };
  }

  /** Why `codec` is refused under the `videoCodecs` option, or null (accepted, or not known yet). */
  private codecRefusal(codec: VideoCodec | null): string | null {
    const accepted = this.options.videoCodecs;
    return accepted === undefined || codec === null ? null : codecRefusal(codec, accepted);
  }

  /** Why a message's span is not believable, or null when it is. */
  private implausibleSpan(seconds: number): string | null {
    const max = this.options.maxMessageSeconds ?? Infinity;
    if (Number.isFinite(seconds) && seconds <= max) return null;
    return `the container's timestamps put ${Number.isFinite(seconds) ? seconds.toFixed(0) : 'unbounded'} s of video in this one message (at most ${max} s is believable); its timestamps are corrupt`;
  }

  private fromError(err: unknown): SegmentVerdict {
    if (!(err instanceof MediaError)) throw err;
    return this.reject(err.kind === 'no-video' ? 'ih5001' : 'ih5004', err.message);
  }

  private reject(code: 'ih5001' | 'ih5004', message: string): SegmentVerdict {
    this.current = null;
    return fail(code, message);
  }
}

function unrecognisedOrBare(message: Uint8Array): string {
  if (message.length === 0) return 'the message is empty';
  return `the message has no container header (first bytes ${hexPreview(message)})`;
}

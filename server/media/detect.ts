/**
 * Container detection from the first bytes, and `probeFile` for whole files (the upload path).
 *
 * Detection (no file extensions, no MIME types, only magic bytes):
 * - EBML (WebM / Matroska): 1A 45 DF A3 at offset 0;
 * - ISO-BMFF (MP4 / MOV): a box type ftyp, moov, mdat, free, wide, skip, styp or moof at offset 4;
 * - MPEG-TS: sync byte 0x47 at offset 0 and 188 (and at further packet starts when present);
 * - AVI: "RIFF" at 0 and "AVI " at 8 (whole files only; never a stream segment).
 *
 * `probeFile` runs the same scanners as the stream path over a complete file and reports the
 * container, the video duration in seconds (same rules as `timeline.ts`) and the video codec, or
 * why it cannot.
 */

import { AviHeaderScanner } from './avi-scanner.js';
import type { VideoCodec } from './codecs.js';
import { hexPreview, MediaError } from './common.js';
import { EbmlScanner } from './ebml.js';
import { IsobmffScanner } from './isobmff.js';
import { looksLikeTransportStream, scanTransportStream } from './mpegts.js';

/** Container families told apart by their first bytes. */
export type ContainerFamily = 'ebml' | 'isobmff' | 'mpegts' | 'avi';

/** Box types that may open an ISO-BMFF file or fragment, as found at offset 4. */
export const ISOBMFF_FIRST_BOXES: ReadonlySet<string> = new Set(['ftyp', 'moov', 'mdat', 'free', 'wide', 'skip', 'styp', 'moof']);

function ascii(bytes: Uint8Array, at: number): string {
  // Four characters, read without a Buffer view or a spread (this runs once per message).
  return at + 4 <= bytes.length ? String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!) : '';
}

/** The container family of a file or segment from its first bytes, or null if none is recognised. */
export function detectContainer(bytes: Uint8Array): ContainerFamily | null {
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return 'ebml'; // EBML magic
  if (ISOBMFF_FIRST_BOXES.has(ascii(bytes, 4))) return 'isobmff';
  if (looksLikeTransportStream(bytes)) return 'mpegts';
  if (ascii(bytes, 0) === 'RIFF' && ascii(bytes, 8) === 'AVI ') return 'avi';
  return null;
}

/** Human-readable reason for an unrecognised start of data. */
export function unrecognised(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'the message is empty';
  return (
    `not a recognised container: the first bytes are ${hexPreview(bytes)} ` +
    '(expected a WebM/Matroska EBML header 1A 45 DF A3, an MP4/MOV box such as ftyp, or MPEG-TS packets)'
  );
}

/** What `probeFile` reports. */
export type ProbeResult =
  | { ok: true; container: 'webm' | 'mkv' | 'mp4' | 'mov' | 'mpegts' | 'avi'; durationSeconds: number; hasVideo: true; codec: VideoCodec }
  | { ok: false; reason: 'unsupported' | 'corrupt' | 'no-video'; message: string };

/**
 * Probe a complete file: container (mkv vs webm from the EBML DocType; mov vs mp4 from the ftyp
 * major brand 'qt  ' or a missing ftyp), and the duration of its video track in seconds.
 */
export function probeFile(bytes: Uint8Array): ProbeResult {
  const family = detectContainer(bytes);
  if (family === null) return { ok: false, reason: 'unsupported', message: unrecognised(bytes) };
  try {
    switch (family) {
      case 'ebml': {
        const s = new EbmlScanner();
        s.push(bytes);
        s.finish();
        if (s.hasVideo !== true) return { ok: false, reason: 'corrupt', message: 'no Tracks element' };
        return { ok: true, container: s.docType === 'webm' ? 'webm' : 'mkv', durationSeconds: s.videoSeconds, hasVideo: true, codec: s.videoCodec! };
      }
      case 'isobmff': {
        const s = new IsobmffScanner();
        s.push(bytes);
        s.finish();
        if (s.moov !== 'done') return { ok: false, reason: 'corrupt', message: 'no complete moov box' };
        const container = s.majorBrand === null || s.majorBrand === 'qt  ' ? 'mov' : 'mp4';
        return { ok: true, container, durationSeconds: s.videoSeconds, hasVideo: true, codec: s.videoCodec! };
      }
      case 'mpegts': {
        const ts = scanTransportStream(bytes);
        return { ok: true, container: 'mpegts', durationSeconds: ts.durationSeconds, hasVideo: true, codec: ts.codec };
      }
      case 'avi': {
        const s = new AviHeaderScanner();
        s.push(bytes);
        const avi = s.finish();
        return { ok: true, container: 'avi', durationSeconds: avi.durationSeconds, hasVideo: true, codec: avi.codec };
      }
    }
  } catch (err) {
    if (!(err instanceof MediaError)) throw err;
    return { ok: false, reason: err.kind === 'no-video' ? 'no-video' : 'corrupt', message: err.message };
  }
}

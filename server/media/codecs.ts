/**
 * Video codecs: the name of the codec a container declares for its video track, and the rule that
 * decides which codecs the emulator accepts.
 *
 * Where the codec is read (no frame is decoded; one small header field per track):
 * - MP4 / MOV: the four-character type of the video track's first sample entry in `stsd`
 *   (avc1, hvc1, mp4v, vp09, av01, …);
 * - WebM / Matroska: the video TrackEntry's CodecID (V_VP8, V_MPEG4/ISO/AVC, …);
 * - MPEG-TS: the video stream's stream_type in the PMT (0x1B H.264, 0x10 MPEG-4 Part 2, …);
 * - AVI: the video stream's BITMAPINFOHEADER biCompression in `strf` (else the `strh` handler).
 *
 * Why a rule at all: the live v1 service refuses MPEG-4 Part 2 (`mp4v`, what OpenCV writes by
 * default) with ih5004 (observed by garavels/robothelper, commit 4edc087), while H.264 MP4 and the
 * VP8/VP9 WebM of browsers' MediaRecorder are what working clients send. Nothing public says how
 * the live service treats the other codecs; `LIVE_VIDEO_CODECS` accepts only those three, so a
 * client that works against ih-mock does not depend on a codec the live service may refuse (our
 * choice; `videoCodecs` widens or narrows it).
 *
 * Invariant: every function here is a table lookup, run once per stream or self-contained segment,
 * never per frame.
 */

/** Codecs ih-mock can name, by the short names ffmpeg uses (also the values of the `videoCodecs` option). */
export const VIDEO_CODEC_NAMES = ['h264', 'hevc', 'vvc', 'vp8', 'vp9', 'av1', 'mpeg4', 'msmpeg4', 'mpeg2', 'mpeg1', 'h263', 'mjpeg', 'theora', 'vc1', 'prores', 'dirac'] as const;
export type VideoCodecName = (typeof VIDEO_CODEC_NAMES)[number];

/** The `videoCodecs` value that accepts every video codec, recognised or not. */
export const ANY_VIDEO_CODEC = 'any';

/** What the live v1 service is known to accept (see the module header); the default of `videoCodecs`. */
export const LIVE_VIDEO_CODECS: readonly VideoCodecName[] = ['h264', 'vp8', 'vp9'];

/** A video track's codec as its container declares it. */
export interface VideoCodec {
  /** ih-mock's name for it, or null when the tag is not one ih-mock recognises. */
  readonly name: VideoCodecName | null;
  /** The declaration as written: sample entry type, CodecID, `stream_type 0x10`, or AVI fourcc ('' when none). */
  readonly tag: string;
}

/** How codecs are named in messages. */
export const VIDEO_CODEC_LABELS: Readonly<Record<VideoCodecName, string>> = {
  h264: 'H.264',
  hevc: 'HEVC (H.265)',
  vvc: 'VVC (H.266)',
  vp8: 'VP8',
  vp9: 'VP9',
  av1: 'AV1',
  mpeg4: 'MPEG-4 Part 2',
  msmpeg4: 'Microsoft MPEG-4',
  mpeg2: 'MPEG-2 video',
  mpeg1: 'MPEG-1 video',
  h263: 'H.263',
  mjpeg: 'Motion JPEG',
  theora: 'Theora',
  vc1: 'VC-1',
  prores: 'ProRes',
  dirac: 'Dirac',
};

function table(entries: Record<VideoCodecName, readonly string[]>): ReadonlyMap<string, VideoCodecName> {
  const map = new Map<string, VideoCodecName>();
  for (const [name, tags] of Object.entries(entries) as [VideoCodecName, readonly string[]][]) for (const tag of tags) map.set(tag, name);
  return map;
}

/**
 * ISO-BMFF / QuickTime sample entry types (ISO/IEC 14496-15, the AV1 and VP codec ISO-BMFF
 * bindings, Apple's QuickTime tags). `mp4v` is MPEG-4 Visual; MPEG-1/2 video in MP4 also use
 * `mp4v` (told apart only by the esds object type, which is not read), so they count as mpeg4.
 */
const SAMPLE_ENTRIES = table({
  h264: ['avc1', 'avc2', 'avc3', 'avc4'],
  hevc: ['hvc1', 'hev1', 'dvh1', 'dvhe'],
  vvc: ['vvc1', 'vvi1'],
  vp8: ['vp08'],
  vp9: ['vp09'],
  av1: ['av01'],
  mpeg4: ['mp4v', 'xvid', 'XVID', 'DIVX', 'FMP4'],
  msmpeg4: ['DIV3', 'MP43'],
  mpeg2: ['mp2v', 'hdv1', 'hdv2', 'hdv3', 'hdv5', 'hdv6', 'hdv7', 'hdv8', 'hdv9', 'hdva', 'mx3n', 'mx3p', 'mx4n', 'mx4p', 'mx5n', 'mx5p', 'xdv1', 'xdv2', 'xdv3', 'xdv4', 'xdv5', 'xdv6', 'xdv7', 'xdv8', 'xdv9', 'xdva', 'xdvb', 'xdvc', 'xdvd', 'xdve', 'xdvf', 'xd51', 'xd54', 'xd55', 'xd59', 'xd5a', 'xd5b', 'xd5c', 'xd5d', 'xd5e', 'xd5f', 'xdhd', 'xdh2'],
  mpeg1: ['mp1v', 'm1v '],
  h263: ['h263', 's263', 'H263'],
  mjpeg: ['jpeg', 'mjpa', 'mjpb', 'mjp2', 'MJPG', 'AVDJ', 'dmb1'],
  theora: [],
  vc1: ['vc-1'],
  prores: ['apch', 'apcn', 'apcs', 'apco', 'ap4h', 'ap4x', 'aprn', 'aprh'],
  dirac: ['drac'],
});

/** Matroska CodecID values (RFC 9559 codec mappings). */
const MATROSKA_IDS = table({
  h264: ['V_MPEG4/ISO/AVC'],
  hevc: ['V_MPEGH/ISO/HEVC'],
  vvc: ['V_MPEGI/ISO/VVC'],
  vp8: ['V_VP8'],
  vp9: ['V_VP9'],
  av1: ['V_AV1'],
  mpeg4: ['V_MPEG4/ISO/ASP', 'V_MPEG4/ISO/SP', 'V_MPEG4/ISO/AP'],
  msmpeg4: ['V_MPEG4/MS/V3'],
  mpeg2: ['V_MPEG2'],
  mpeg1: ['V_MPEG1'],
  h263: [],
  mjpeg: ['V_MJPEG'],
  theora: ['V_THEORA'],
  vc1: [],
  prores: ['V_PRORES'],
  dirac: ['V_DIRAC'],
});

/** MPEG-TS video stream_type values (ISO/IEC 13818-1 table 2-34; 0xD1 and 0xEA are registered private uses). */
const STREAM_TYPES = new Map<number, VideoCodecName | null>([
  [0x01, 'mpeg1'],
  [0x02, 'mpeg2'],
  [0x10, 'mpeg4'],
  [0x1b, 'h264'],
  [0x1f, 'h264'], // SVC sub-bitstream
  [0x20, 'h264'], // MVC sub-bitstream
  [0x24, 'hevc'],
  [0x33, 'vvc'],
  [0x42, null], // AVS (China), not named here
  [0xd1, 'dirac'],
  [0xea, 'vc1'],
]);

/** The stream_type values that carry video: the MPEG-TS scanners take the first such stream of the PMT. */
export const TS_VIDEO_STREAM_TYPES: ReadonlySet<number> = new Set(STREAM_TYPES.keys());

/** AVI fourccs (strf biCompression / strh fccHandler), compared in upper case: AVI writers vary the case. */
const AVI_FOURCCS = table({
  h264: ['H264', 'X264', 'AVC1', 'DAVC', 'VSSH'],
  hevc: ['HEVC', 'H265', 'X265', 'HVC1', 'HEV1'],
  vvc: [],
  vp8: ['VP80'],
  vp9: ['VP90'],
  av1: ['AV01'],
  mpeg4: ['FMP4', 'XVID', 'DIVX', 'DX50', 'MP4V', 'MP4S', 'M4S2', '3IV2', 'RMP4', 'SEDG', 'BLZ0', 'DXGM', 'GEOX'],
  msmpeg4: ['DIV3', 'DIV4', 'MP43', 'MPG4', 'MP42', 'DIV2', 'AP41', 'COL1'],
  mpeg2: ['MPG2', 'MPEG', 'MP2V', 'MMES', 'EM2V'],
  mpeg1: ['MPG1', 'MP1V', 'PIM1'],
  h263: ['H263', 'U263', 'S263', 'I263', 'M263', 'X263'],
  mjpeg: ['MJPG', 'AVRN', 'LJPG', 'JPGL', 'DMB1', 'MJLS', 'IJPG', 'ACDV', 'QIVG', 'SLMJ', 'CJPG', 'JPEG'],
  theora: ['THEO'],
  vc1: ['WVC1', 'WMV3', 'WVP2', 'WMVA'],
  prores: [],
  dirac: ['DRAC'],
});

/** The codec of an MP4/MOV video sample entry type. */
export function codecFromSampleEntry(type: string): VideoCodec {
  return { name: SAMPLE_ENTRIES.get(type) ?? null, tag: type };
}

/** The codec of a Matroska video CodecID. */
export function codecFromMatroskaId(codecId: string): VideoCodec {
  return { name: MATROSKA_IDS.get(codecId) ?? null, tag: codecId };
}

/** The codec of an MPEG-TS video stream_type. */
export function codecFromStreamType(streamType: number): VideoCodec {
  return { name: STREAM_TYPES.get(streamType) ?? null, tag: `stream_type 0x${streamType.toString(16).padStart(2, '0').toUpperCase()}` };
}

/**
 * The codec of an AVI video stream from its BITMAPINFOHEADER biCompression (a fourcc, or a small
 * number for the uncompressed formats: 0 = BI_RGB).
 */
export function codecFromAviCompression(compression: number): VideoCodec {
  if (compression < 0x100) return { name: null, tag: compression === 0 ? 'BI_RGB (uncompressed)' : `biCompression ${compression}` };
  const fourcc = String.fromCharCode(compression & 0xff, (compression >>> 8) & 0xff, (compression >>> 16) & 0xff, compression >>> 24);
  return codecFromAviFourcc(fourcc);
}

/** The codec of an AVI fourcc (strh fccHandler or strf biCompression written as text). */
export function codecFromAviFourcc(fourcc: string): VideoCodec {
  return { name: AVI_FOURCCS.get(fourcc.toUpperCase()) ?? null, tag: fourcc };
}

/** "MPEG-4 Part 2 (mp4v)", "H.264 (V_MPEG4/ISO/AVC)", or for an unrecognised tag "xyz1 (not a codec ih-mock recognises)". */
export function describeCodec(codec: VideoCodec): string {
  const tag = codec.tag.trim() === '' ? 'none declared' : codec.tag.trim();
  return codec.name === null ? `${tag} (not a codec ih-mock recognises)` : `${VIDEO_CODEC_LABELS[codec.name]} (${tag})`;
}

/** True when `accepted` (values of the `videoCodecs` option) lets this codec through. */
export function codecAccepted(codec: VideoCodec, accepted: readonly string[]): boolean {
  if (accepted.includes(ANY_VIDEO_CODEC)) return true;
  return codec.name !== null && accepted.includes(codec.name);
}

/**
 * Why a codec is refused under `accepted`, in the live service's terms (ih5004 on the stream), or
 * null when it is accepted: "video codec MPEG-4 Part 2 (mp4v) is not supported; send H.264, VP8 or VP9".
 */
export function codecRefusal(codec: VideoCodec, accepted: readonly string[]): string | null {
  if (codecAccepted(codec, accepted)) return null;
  const labels = accepted.filter((n): n is VideoCodecName => n in VIDEO_CODEC_LABELS).map((n) => VIDEO_CODEC_LABELS[n]);
  const send = labels.length <= 1 ? labels.join('') : `${labels.slice(0, -1).join(', ')} or ${labels.at(-1)!}`;
  return `video codec ${describeCodec(codec)} is not supported; send ${send || 'another codec'}`;
}

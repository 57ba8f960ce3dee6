/**
 * Incremental EBML / Matroska / WebM scanner: video timestamps from a byte stream fed in pieces.
 *
 * Hand-written on purpose (see `common.ts`): a live MediaRecorder stream has a Segment and Clusters
 * of unknown size and is cut at arbitrary offsets, so a later piece can start in the middle of a
 * cluster, of a SimpleBlock or of an element header. This scanner keeps its place across pieces and
 * never keeps payload bytes.
 *
 * What it reads (RFC 9559 element IDs):
 * - EBML header → DocType ("webm" or "matroska");
 * - Segment (known or unknown size) → Info (TimestampScale, default 1 000 000 ns; Duration),
 *   Tracks/TrackEntry (TrackNumber, TrackType 1 = video 2 = audio, CodecID — which names the
 *   video codec, see codecs.ts — DefaultDuration);
 * - Cluster (known or unknown size) → Timestamp, SimpleBlock, BlockGroup (Block, BlockDuration).
 *   Of a block only the track number and the 16-bit relative timestamp are read; the frame data
 *   is skipped by counting.
 *
 * Rules it enforces (violations throw `MediaError('malformed')`):
 * - element IDs are checked against the level they appear at (root, EBML header, Segment, Tracks,
 *   Cluster, BlockGroup; Void 0xEC and CRC-32 0xBF anywhere), so garbage is reported, not skipped;
 * - an unknown size is allowed only on Segment and Cluster; such an element ends where an element
 *   that is not one of its children starts (a new Cluster, Cues, Tags…);
 * - a child may not run past its parent; one EBML header and one Segment per stream;
 * - Tracks must come before the first Cluster (live streaming needs them up front), and a block
 *   must follow its Cluster's Timestamp.
 * When Tracks ends without a video track it throws `MediaError('no-video')`.
 *
 * Media time: only blocks of the first video track count. `videoSeconds` = (largest video block
 * timestamp + that frame's duration) − first video block timestamp, where the frame duration is
 * its BlockDuration, else the track's DefaultDuration, else the median recent inter-frame gap.
 * A block counts once all of its bytes have arrived.
 */

import { codecFromMatroskaId, type VideoCodec } from './codecs.js';
import { ByteScanner, closeContainersEndingAt, FrameGapEstimator, malformed, MAX_READ, MediaError, roundSeconds } from './common.js';

/** Element IDs used here (RFC 9559 names; Matroska v2 names in parentheses). */
const ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  DocTypeExtension: 0x4281,
  Void: 0xec,
  CRC32: 0xbf,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1, // (TimecodeScale)
  Duration: 0x4489,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackType: 0x83,
  CodecID: 0x86,
  DefaultDuration: 0x23e383,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7, // (Timecode)
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
  BlockDuration: 0x9b,
  Cues: 0x1c53bb6b,
  Chapters: 0x1043a770,
  Tags: 0x1254c367,
  Attachments: 0x1941a469,
} as const;

/** Pseudo-ID for the level above the EBML header and the Segment. */
const ROOT = -1;

const NAMES = new Map<number, string>([[ROOT, 'the top level'], ...Object.entries(ID).map(([name, id]) => [id, name] as [number, string])]);

function describe(id: number): string {
  const name = NAMES.get(id);
  if (id === ROOT) return 'the top level';
  return name ? `${name} (0x${id.toString(16).toUpperCase()})` : `0x${id.toString(16).toUpperCase()}`;
}

/** Children allowed at each level we validate. Levels not listed (Info, TrackEntry) accept any child within their known size. */
const CHILDREN = new Map<number, ReadonlySet<number>>([
  [ROOT, new Set([ID.EBML, ID.Segment])],
  [ID.EBML, new Set([ID.EBMLVersion, ID.EBMLReadVersion, ID.EBMLMaxIDLength, ID.EBMLMaxSizeLength, ID.DocType, ID.DocTypeVersion, ID.DocTypeReadVersion, ID.DocTypeExtension])],
  [ID.Segment, new Set([ID.SeekHead, ID.Info, ID.Tracks, ID.Cluster, ID.Cues, ID.Chapters, ID.Tags, ID.Attachments])],
  [ID.Tracks, new Set([ID.TrackEntry])],
  // Cluster: Timestamp, SilentTracks, Position, PrevSize, SimpleBlock, BlockGroup, EncryptedBlock.
  [ID.Cluster, new Set([ID.Timestamp, 0x5854, 0xa7, 0xab, ID.SimpleBlock, ID.BlockGroup, 0xaf])],
  // BlockGroup: Block, BlockVirtual, BlockAdditions, BlockDuration, ReferencePriority, ReferenceBlock,
  // ReferenceVirtual, CodecState, DiscardPadding, Slices, ReferenceFrame (DivX).
  [ID.BlockGroup, new Set([ID.Block, 0xa2, 0x75a1, ID.BlockDuration, 0xfa, 0xfb, 0xfd, 0xa4, 0x75a2, 0x8e, 0xc8])],
]);

/** Containers the scanner descends into, with the parent each must appear in. */
const CONTAINERS = new Map<number, number>([
  [ID.EBML, ROOT],
  [ID.Segment, ROOT],
  [ID.Info, ID.Segment],
  [ID.Tracks, ID.Segment],
  [ID.TrackEntry, ID.Tracks],
  [ID.Cluster, ID.Segment],
  [ID.BlockGroup, ID.Cluster],
]);

/** Most bytes of a block read: track number (vint, ≤ 8 bytes), 16-bit timecode, flags. */
const BLOCK_READ = 11;

/** Small leaves that are read, by parent, with the most bytes read from each (strings are truncated). */
const LEAVES = new Map<number, ReadonlyMap<number, number>>([
  [ID.EBML, new Map([[ID.DocType, 32]])],
  [ID.Info, new Map([[ID.TimestampScale, 8], [ID.Duration, 8]])],
  [ID.TrackEntry, new Map([[ID.TrackNumber, 8], [ID.TrackType, 8], [ID.CodecID, 32], [ID.DefaultDuration, 8]])],
  [ID.Cluster, new Map([[ID.Timestamp, 8], [ID.SimpleBlock, BLOCK_READ]])],
  [ID.BlockGroup, new Map([[ID.Block, BLOCK_READ], [ID.BlockDuration, 8]])],
]);

/** Leaves whose value is an unsigned integer (so more than 8 bytes cannot be right). */
const UINTS = new Set<number>([ID.TimestampScale, ID.TrackNumber, ID.TrackType, ID.DefaultDuration, ID.Timestamp, ID.BlockDuration]);

/** Most track entries accepted (bounded memory). */
const MAX_TRACKS = 64;

interface Open {
  readonly id: number;
  /** Absolute end offset, or null for an unknown size. */
  readonly end: number | null;
  /**
   * Where it must end by: its own end, else that of the innermost known-size element around it
   * (Infinity: none); an unknown-size Cluster inside a known-size Segment is bounded by the Segment.
   */
  readonly bound: number;
}

/** One TrackEntry as declared. */
export interface EbmlTrack {
  number: number;
  /** 1 video, 2 audio, … (RFC 9559 TrackType). */
  type: number;
  codecId: string;
  /** DefaultDuration in nanoseconds, if declared. */
  defaultDurationNs: number | null;
}

/** Big-endian unsigned integer of `bytes[at … at+length)`. */
function readUint(bytes: Uint8Array, at: number, length: number): number {
  let value = 0;
  for (let k = at; k < at + length; k++) value = value * 256 + bytes[k]!;
  return value;
}

/** Shared decoder for the few strings read (DocType, CodecID); `decode` without `stream` keeps no state. */
const UTF8 = new TextDecoder();

/** Size value of an element whose size is "unknown" (all value bits set). */
const UNKNOWN_SIZE = -1;

function vintLength(first: number): number {
  // 1 + number of leading zero bits; 0 for a 0x00 byte (more than 8 bytes: never valid here).
  return first === 0 ? 0 : Math.clz32(first) - 23;
}

/** Incremental scanner for one EBML document (one recording). See the module header. */
export class EbmlScanner extends ByteScanner {
  /** DocType of the EBML header ("webm", "matroska"), once read. */
  docType: string | null = null;
  /** Whether a Segment has started, and whether its size is declared. */
  segment: 'none' | 'known' | 'unknown' = 'none';
  /** True once a known-size Segment has been fully consumed. */
  segmentComplete = false;
  /** Null until the Tracks element ends; then whether it declared a video track. */
  hasVideo: boolean | null = null;
  /** Tracks declared so far. */
  readonly tracks: EbmlTrack[] = [];
  /** The video track used for timing, once Tracks has ended. */
  videoTrack: EbmlTrack | null = null;
  /** Info/Duration in seconds, if declared (not used for timing; blocks are). */
  declaredDuration: number | null = null;

  private readonly stack: Open[] = [];
  /** `close` as a value made once: closeEnded runs at every element boundary, and a closure per call was most of a segment's garbage. */
  private readonly closeOpen = (open: Open): void => this.close(open);
  private ebmlSeen = false;
  private ebmlDone = false;
  private tracksSeen = false;
  private scaleNs = 1_000_000;
  private rawDuration: number | null = null;
  private entry: EbmlTrack | null = null;
  private clusterTs: number | null = null;
  /** Number of the video track used for timing (-1 before Tracks ends; track numbers are ≥ 1). */
  private videoNumber = -1;
  /** Element whose leaf body is being read or skipped. */
  private leafId = 0;
  private leafSize = 0;
  /** SimpleBlock whose header was read, counted when its last byte arrives. */
  private pendingTrack = 0;
  private pendingRel = 0;
  /** Block of the open BlockGroup, counted when the group ends. */
  private groupHasBlock = false;
  private groupTrack = 0;
  private groupRel = 0;
  private groupDuration: number | null = null;

  private firstTs: number | null = null;
  private maxTs = -Infinity;
  private maxDur: number | null = null;
  private readonly gaps = new FrameGapEstimator();

  constructor() {
    super(12); // ID up to 4 bytes + size up to 8 bytes
  }

  /** Seconds of video from the first video block to the end of the latest one (0 before any). */
  get videoSeconds(): number {
    if (this.firstTs === null) return 0;
    return roundSeconds(Math.max(0, this.maxTs - this.firstTs + (this.maxDur ?? this.frameSeconds ?? 0)));
  }

  /** The video track's codec (from its CodecID), once Tracks has ended. */
  get videoCodec(): VideoCodec | null {
    return this.videoTrack === null ? null : codecFromMatroskaId(this.videoTrack.codecId);
  }

  /** One video frame in seconds: DefaultDuration, else the median recent frame gap; null if unknown yet. */
  get frameSeconds(): number | null {
    const d = this.videoTrack?.defaultDurationNs;
    if (d) return d / 1e9;
    return this.gaps.estimate();
  }

  /**
   * The document ends here (a self-contained file, or the end of an upload). Unknown-size
   * elements end with it; throws if it stops inside a header, a body or a known-size element.
   */
  finish(): void {
    if (!this.atBoundary()) malformed('the data ends inside an element');
    for (let k = this.stack.length - 1; k >= 0; k--) {
      const open = this.stack[k]!;
      if (open.end !== null) malformed(`the data ends inside ${describe(open.id)}`);
      this.stack.pop();
      this.close(open);
    }
    if (!this.ebmlDone) malformed('no complete EBML header');
  }

  protected headerLength(bytes: Uint8Array, at: number, avail: number): number {
    const idLen = vintLength(bytes[at]!);
    if (idLen === 0 || idLen > 4) malformed(`invalid EBML element ID starting with byte 0x${bytes[at]!.toString(16)}`);
    if (avail <= idLen) return idLen + 1;
    const sizeLen = vintLength(bytes[at + idLen]!);
    if (sizeLen === 0) malformed('invalid EBML element size (first byte 0x00)');
    return idLen + sizeLen;
  }

  protected onHeader(head: Uint8Array, at: number, length: number, start: number): void {
    // ID and size, decoded where they lie (headerLength has checked both vint lengths).
    const idLen = vintLength(head[at]!);
    let id = head[at]!;
    for (let k = 1; k < idLen; k++) id = id * 256 + head[at + k]!;
    if (id === RESERVED_IDS[idLen]) malformed(`reserved EBML element ID 0x${id.toString(16)}`);
    const sizeLen = length - idLen;
    const mask = 0xff >> sizeLen;
    let size = head[at + idLen]! & mask;
    let allOnes = size === mask;
    for (let k = idLen + 1; k < length; k++) {
      const b = head[at + k]!;
      if (b !== 0xff) allOnes = false;
      size = size * 256 + b;
    }
    if (allOnes) size = UNKNOWN_SIZE;
    else if (size > Number.MAX_SAFE_INTEGER) malformed(`${describe(id)} declares an impossible size`);

    // Hot path: a SimpleBlock of known size in a Cluster, within the Cluster's size — nearly every
    // element of a stream. It is allowed there (so no unknown-size element ends here): no lookups.
    const stack = this.stack;
    const parent = stack.length === 0 ? undefined : stack[stack.length - 1]!;
    if (id === ID.SimpleBlock && parent !== undefined && parent.id === ID.Cluster && size !== UNKNOWN_SIZE && this.pos + size <= parent.bound) {
      this.block(id, size);
      return;
    }
    this.element(id, size, start, parent);
  }

  /** Any element but the hot case above (`size` is UNKNOWN_SIZE for an unknown size); `top` is the innermost open element. */
  private element(id: number, size: number, start: number, top: Open | undefined): void {
    // The other usual children of a Cluster are allowed there too: only look up the others.
    let parent = top;
    if (parent === undefined || parent.id !== ID.Cluster || (id !== ID.SimpleBlock && id !== ID.BlockGroup && id !== ID.Timestamp)) {
      parent = this.place(id, start);
    }
    if (size !== UNKNOWN_SIZE && this.pos + size > this.bound()) {
      const bound = this.stack.findLast((open) => open.end !== null)!;
      malformed(`${describe(id)} at byte ${start} runs past the end of ${bound === parent ? 'its parent' : 'the enclosing'} ${describe(bound.id)}`);
    }
    const parentId = parent === undefined ? ROOT : parent.id;

    if (id === ID.SimpleBlock && parentId === ID.Cluster) {
      if (size === UNKNOWN_SIZE) malformed(`${describe(id)} has an unknown size (only Segment and Cluster may)`);
      this.block(id, size);
      return;
    }
    if (id === ID.BlockGroup ? parentId === ID.Cluster : CONTAINERS.get(id) === parentId) {
      if (size === UNKNOWN_SIZE && id !== ID.Segment && id !== ID.Cluster) malformed(`${describe(id)} has an unknown size (only Segment and Cluster may)`);
      this.open(id, size === UNKNOWN_SIZE ? null : size);
      this.stack.push({ id, end: size === UNKNOWN_SIZE ? null : this.pos + size, bound: size === UNKNOWN_SIZE ? this.bound() : this.pos + size });
      return;
    }
    if (size === UNKNOWN_SIZE) malformed(`${describe(id)} has an unknown size (only Segment and Cluster may)`);
    const cap = id === ID.Timestamp && parentId === ID.Cluster ? 8 : LEAVES.get(parentId)?.get(id);
    this.leafId = cap === undefined ? 0 : id;
    this.leafSize = size;
    if (cap === undefined) {
      this.body(this.pos + size);
      return;
    }
    if (UINTS.has(id) && size > 8) malformed(`${describe(id)} is ${size} bytes long; an unsigned integer has at most 8`);
    if (id === ID.Duration && size !== 0 && size !== 4 && size !== 8) malformed(`Duration is ${size} bytes long; a float has 4 or 8`);
    if (id === ID.Block) {
      this.block(id, size);
      return;
    }
    this.body(this.pos + size, Math.min(size, cap, MAX_READ));
  }

  /**
   * Where element `id` goes, when it is not one of the usual children of a Cluster: an unknown-size
   * element ends where something that cannot be its child begins. Returns the parent (undefined:
   * the top level); throws if no open level accepts it.
   */
  private place(id: number, start: number): Open | undefined {
    const stack = this.stack;
    let depth = stack.length;
    while (!this.allowed(depth === 0 ? ROOT : stack[depth - 1]!.id, id)) {
      const level = stack[depth - 1];
      if (level === undefined || level.end !== null) {
        malformed(`${describe(id)} at byte ${start} is not allowed inside ${describe(stack[stack.length - 1]?.id ?? ROOT)}`);
      }
      depth--;
    }
    while (stack.length > depth) this.close(stack.pop()!);
    return depth === 0 ? undefined : stack[depth - 1];
  }

  /**
   * The run of SimpleBlocks inside a Cluster, decoded in one tight loop: what a stream is nearly all
   * made of, and where the stepper's general path spent most of a segment's scanning time. A block
   * is taken here only if its ID, size, track number and timecode are plainly valid, it lies wholly
   * in this message and no open element ends at its end; anything else (a Cluster's last block, a
   * block cut by the message's end, any other element, anything malformed) goes to the general
   * path, which decides it as before.
   */
  protected override consumeRun(bytes: Uint8Array, at: number, n: number): number {
    const stack = this.stack;
    const depth = stack.length;
    // (A Cluster opens only after Tracks has named the video track: videoNumber is set here.)
    if (depth === 0 || stack[depth - 1]!.id !== ID.Cluster || this.clusterTs === null) return at;
    const limit = this.bound(); // blocks must end before it: then no open element ends at a block's end
    const base = this.pos - at; // absolute offset of bytes[0]
    let i = at;
    // The size, track and timecode decoding repeats onHeader's and blockHeader's on purpose: sharing
    // it through small helpers measured 15-20 % slower here (bench/media-scan.ts, December 2026).
    // Bounds: the ID and the size's first byte must be here; then the size's bytes and the block's
    // 4-byte header at least (`end <= n` with size >= 4 implies it, but the size is read first).
    while (i + 2 < n && bytes[i] === ID.SimpleBlock) {
      const sizeLen = vintLength(bytes[i + 1]!);
      const bodyAt = i + 1 + sizeLen;
      if (sizeLen === 0 || bodyAt + 4 > n) break;
      let size = bytes[i + 1]! & (0xff >> sizeLen);
      for (let k = i + 2; k < bodyAt; k++) size = size * 256 + bytes[k]!;
      if (size === UNKNOWN_SIZE_OF_LENGTH[sizeLen]) break; // all ones: an unknown size, an error for a block
      const end = bodyAt + size;
      if (end > n || base + end >= limit) break;
      const trackLen = vintLength(bytes[bodyAt]!);
      if (trackLen === 0 || trackLen + 3 > size) break;
      let track = bytes[bodyAt]! & (0xff >> trackLen);
      for (let k = 1; k < trackLen; k++) track = track * 256 + bytes[bodyAt + k]!;
      const rel = ((bytes[bodyAt + trackLen]! << 24) >> 16) | bytes[bodyAt + trackLen + 1]!;
      this.countBlock(track, rel, null);
      i = end;
    }
    return i;
  }

  /** Where an element starting now must end by (the innermost open element's bound; Infinity: none). */
  private bound(): number {
    const stack = this.stack;
    return stack.length === 0 ? Infinity : stack[stack.length - 1]!.bound;
  }

  /** A SimpleBlock (in a Cluster) or a Block (in a BlockGroup) of `size` bytes starts at `pos`. */
  private block(id: number, size: number): void {
    this.leafId = id;
    this.leafSize = size;
    if (size < 4) malformed(`${describe(id)} of ${size} bytes is too short for a block header`);
    if (this.clusterTs === null) malformed(`${describe(id)} before its Cluster's Timestamp`);
    const read = Math.min(size, BLOCK_READ);
    if (this.srcAt + read <= this.src.length) {
      // Fast path: the bytes a read would hand over are already in this message: decode the track
      // number and timecode in place and skip the frame by counting (no read step, no copy).
      this.blockHeader(this.src, this.srcAt, read);
      this.body(this.pos + size);
    } else {
      this.body(this.pos + size, read); // the block header straddles messages: read it through the carry buffer
    }
  }

  /** Track number and relative timecode of the block `leafId`, from its first `length` bytes at `bytes[at…]`. */
  private blockHeader(bytes: Uint8Array, at: number, length: number): void {
    const len = vintLength(bytes[at]!);
    if (len === 0 || len + 3 > this.leafSize || len + 2 > length) malformed(`${describe(this.leafId)} has an invalid track number`);
    let track = bytes[at]! & (0xff >> len);
    for (let k = 1; k < len; k++) track = track * 256 + bytes[at + k]!;
    const rel = ((bytes[at + len]! << 24) >> 16) | bytes[at + len + 1]!; // signed 16-bit
    if (this.leafId === ID.SimpleBlock) {
      this.pendingTrack = track;
      this.pendingRel = rel;
    } else {
      if (this.groupHasBlock) malformed('a BlockGroup with two Blocks');
      this.groupHasBlock = true;
      this.groupTrack = track;
      this.groupRel = rel;
    }
  }

  protected onRead(bytes: Uint8Array, at: number, length: number): void {
    switch (this.leafId) {
      case ID.SimpleBlock:
      case ID.Block:
        this.blockHeader(bytes, at, length);
        return;
      case ID.Timestamp:
        this.clusterTs = readUint(bytes, at, length);
        return;
      case ID.BlockDuration:
        this.groupDuration = readUint(bytes, at, length);
        return;
      case ID.DocType:
        this.docType = UTF8.decode(bytes.subarray(at, at + length)).replace(/\0+$/, '');
        return;
      case ID.TimestampScale: {
        const scale = readUint(bytes, at, length);
        if (scale === 0) malformed('TimestampScale is 0');
        this.scaleNs = scale;
        return;
      }
      case ID.Duration: {
        const view = new DataView(bytes.buffer, bytes.byteOffset + at, length);
        this.rawDuration = length === 8 ? view.getFloat64(0) : length === 4 ? view.getFloat32(0) : 0;
        return;
      }
      case ID.TrackNumber:
        this.entry!.number = readUint(bytes, at, length);
        return;
      case ID.TrackType:
        this.entry!.type = readUint(bytes, at, length);
        return;
      case ID.CodecID:
        this.entry!.codecId = UTF8.decode(bytes.subarray(at, at + length)).replace(/\0+$/, '');
        return;
      case ID.DefaultDuration:
        this.entry!.defaultDurationNs = readUint(bytes, at, length);
        return;
      default:
        throw new Error(`internal: unexpected read for ${describe(this.leafId)}`);
    }
  }

  protected onBodyEnd(): void {
    if (this.leafId === ID.SimpleBlock) this.countBlock(this.pendingTrack, this.pendingRel, null);
    this.leafId = 0;
  }

  protected closeEnded(): boolean {
    return closeContainersEndingAt(this.stack, this.pos, this.closeOpen);
  }

  private allowed(parent: number, id: number): boolean {
    if (id === ID.Void || (id === ID.CRC32 && parent !== ROOT)) return true;
    const children = CHILDREN.get(parent);
    return children === undefined || children.has(id);
  }

  private open(id: number, size: number | null): void {
    switch (id) {
      case ID.EBML:
        if (this.ebmlSeen) malformed('a second EBML header in one stream (send each recording as its own stream)');
        this.ebmlSeen = true;
        return;
      case ID.Segment:
        if (!this.ebmlDone) malformed('Segment before the EBML header');
        if (this.segment !== 'none') malformed('a second Segment in one stream (send each recording as its own stream)');
        this.segment = size === null ? 'unknown' : 'known';
        return;
      case ID.Tracks:
        if (this.tracksSeen) malformed('a second Tracks element');
        this.tracksSeen = true;
        return;
      case ID.TrackEntry:
        if (this.tracks.length >= MAX_TRACKS) malformed(`more than ${MAX_TRACKS} tracks`);
        this.entry = { number: 0, type: 0, codecId: '', defaultDurationNs: null };
        return;
      case ID.Cluster:
        if (this.hasVideo === null) malformed('Cluster before the Tracks element (Tracks must come first in a stream)');
        this.clusterTs = null;
        return;
      case ID.BlockGroup:
        this.groupHasBlock = false;
        this.groupDuration = null;
        return;
      default:
        return;
    }
  }

  private close(open: Open): void {
    switch (open.id) {
      case ID.EBML:
        if (this.docType !== null && this.docType !== 'webm' && this.docType !== 'matroska') {
          malformed(`unsupported EBML DocType "${this.docType}" (expected webm or matroska)`);
        }
        this.docType ??= 'matroska';
        this.ebmlDone = true;
        return;
      case ID.Segment:
        this.segmentComplete = true;
        return;
      case ID.Info:
        if (this.rawDuration !== null) this.declaredDuration = (this.rawDuration * this.scaleNs) / 1e9;
        return;
      case ID.TrackEntry: {
        const entry = this.entry!;
        this.entry = null;
        if (entry.number === 0) malformed('a TrackEntry without a TrackNumber');
        this.tracks.push(entry);
        return;
      }
      case ID.Tracks: {
        this.videoTrack = this.tracks.find((t) => t.type === 1) ?? null;
        this.hasVideo = this.videoTrack !== null;
        if (!this.hasVideo) {
          const kinds = this.tracks.map((t) => t.codecId || `type ${t.type}`).join(', ');
          throw new MediaError('no-video', `the Tracks element declares no video track (${kinds || 'no tracks'})`);
        }
        this.videoNumber = this.videoTrack!.number;
        return;
      }
      case ID.Cluster:
        this.clusterTs = null;
        return;
      case ID.BlockGroup:
        if (this.groupHasBlock) this.countBlock(this.groupTrack, this.groupRel, this.groupDuration);
        this.groupHasBlock = false;
        return;
      default:
        return;
    }
  }

  private countBlock(track: number, rel: number, duration: number | null): void {
    if (track !== this.videoNumber) return;
    const ticks = this.clusterTs! + rel;
    const t = (ticks * this.scaleNs) / 1e9;
    this.firstTs ??= t;
    this.gaps.add(t);
    if (t >= this.maxTs) {
      this.maxTs = t;
      this.maxDur = duration === null ? null : (duration * this.scaleNs) / 1e9;
    }
  }
}

/** The all-ones ("unknown") size of each size length, 1 to 8 bytes: 2^(7·length) − 1. */
const UNKNOWN_SIZE_OF_LENGTH = [-1, ...Array.from({ length: 8 }, (_, k) => 2 ** (7 * (k + 1)) - 1)];
/** The reserved all-ones ID of each ID length (0xFF, 0x7FFF, 0x3FFFFF, 0x1FFFFFFF): 2^(7·length+1) − 1. */
const RESERVED_IDS = [-1, 0xff, 0x7fff, 0x3fffff, 0x1fffffff] as const;

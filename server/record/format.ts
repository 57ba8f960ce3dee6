/**
 * The recording format (`schemas/recording.schema.json`): JSON lines, a header line, then one record
 * per frame, request, response, open or close, in the order they happened.
 *
 * Writing is append-only and each record goes to the operating system as one `write` of a whole
 * line before the next is made: a recorder killed with SIGKILL leaves a file readable up to its last
 * record (at worst the last line is cut, which the reader reports). Media bytes, when kept, go to a
 * sidecar file the same way, written before the record that points at them.
 */
import { accessSync, closeSync, constants, existsSync, openSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { isoMicros } from '../clock.js';
import type { RecordingHeader, RecordingRecord } from '../types/generated.js';
import { REDACTED, REDACTED_WHAT } from './redact.js';

export const RECORDING_FORMAT = 'ih-mock-recording';
export const RECORDING_VERSION = 1;
/**
 * Status recorded for an HTTP exchange the client abandoned before the answer had reached it
 * (nginx's "client closed request"). The upstream's answer, if one came later, was not waited for.
 */
export const CLIENT_CLOSED_STATUS = 499;

/** Distributes `Omit` over a union, so each record kind keeps its own fields. */
export type WithoutSessionTime<T> = T extends unknown ? Omit<T, 'session' | 't'> : never;

export interface RecordingWriterOptions {
  path: string;
  upstream: string;
  recorder: string;
  label?: string;
  /** Keep media bytes in `<path>.media`. */
  withMedia: boolean;
  /** Clock time of creation (ms since the epoch). */
  now: number;
}

/** Throws, as opening it would, if `path` cannot be written (a directory, no such folder, no permission); touches nothing. */
function assertWritable(path: string): void {
  try {
    if (existsSync(path)) {
      if (statSync(path).isDirectory()) throw new Error('it is a directory');
      accessSync(path, constants.W_OK);
    } else {
      accessSync(dirname(resolve(path)), constants.W_OK);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`cannot write the recording to ${path}: ${e.code === 'ENOENT' ? `no folder ${dirname(resolve(path))}` : e.code ?? e.message}`);
  }
}

/**
 * The recording file. Nothing is written (and an existing file of that name is left alone) until
 * `open()`, which the recorder calls once it listens: a recorder that cannot start must not
 * truncate the file it would have written.
 */
export class RecordingWriter {
  readonly sidecarPath: string | null;
  private fd: number | null = null;
  private sidecarFd: number | null = null;
  private sidecarOffset = 0;
  private closed = false;

  constructor(private readonly options: RecordingWriterOptions) {
    this.sidecarPath = options.withMedia ? `${options.path}.media` : null;
    for (const path of [options.path, this.sidecarPath]) if (path !== null) assertWritable(path);
  }

  /** Create (or truncate) the file and write its header. */
  open(): void {
    if (this.fd !== null || this.closed) return;
    const options = this.options;
    this.fd = openSync(options.path, 'w');
    this.sidecarFd = this.sidecarPath ? openSync(this.sidecarPath, 'w') : null;
    const header: RecordingHeader = {
      format: RECORDING_FORMAT,
      version: RECORDING_VERSION,
      created: isoMicros(options.now),
      upstream: options.upstream,
      recorder: options.recorder,
      ...(options.label !== undefined ? { label: options.label } : {}),
      media: options.withMedia ? 'sidecar' : 'summary',
      sidecar: this.sidecarPath ? basename(this.sidecarPath) : null,
      redaction: { placeholder: REDACTED, what: [...REDACTED_WHAT] },
    };
    this.line(header);
  }

  /** Append one record (already redacted). */
  write(record: RecordingRecord): void {
    this.line(record);
  }

  /** Append media bytes to the sidecar; returns where they are (null without a sidecar). */
  media(bytes: Uint8Array): { offset: number; length: number } | null {
    if (this.sidecarFd === null || this.closed) return null;
    const slice = { offset: this.sidecarOffset, length: bytes.byteLength };
    writeSync(this.sidecarFd, bytes);
    this.sidecarOffset += bytes.byteLength;
    return slice;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fd !== null) closeSync(this.fd);
    if (this.sidecarFd !== null) closeSync(this.sidecarFd);
  }

  private line(value: unknown): void {
    if (this.closed || this.fd === null) return;
    writeSync(this.fd, `${JSON.stringify(value)}\n`);
  }
}

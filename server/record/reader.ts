/**
 * Reading a recording: the header, every record, grouped by session, and what was wrong.
 *
 * A reader never throws on a damaged file it can still use: a last line cut short (the recorder was
 * killed mid-write) or an invalid record is reported in `problems` and skipped, and everything before
 * it is returned. It throws `RecordingError` only when nothing can be trusted: an unreadable file, a
 * missing or invalid header, or a format version it does not know.
 */
import { readFileSync } from 'node:fs';
import type { HttpRequestRecord, HttpResponseRecord, RecordingHeader, RecordingRecord, WsOpenRecord, WsRefusedRecord } from '../types/generated.js';
import { formatDiagnostics, validateRecordingHeader, validateRecordingRecord } from '../validation.js';
import { RECORDING_FORMAT, RECORDING_VERSION } from './format.js';

export class RecordingError extends Error {
  override name = 'RecordingError';
}

export interface RecordingProblem {
  /** 1-based line number. */
  line: number;
  message: string;
}

/** One WebSocket connection: its open (or refusal) and every record after it, in order. */
export interface RecordedStream {
  kind: 'stream';
  session: number;
  open: WsOpenRecord | WsRefusedRecord;
  records: RecordingRecord[];
}

/** One HTTP exchange; `response` is missing when the recording stopped before it. */
export interface RecordedExchange {
  kind: 'http';
  session: number;
  request: HttpRequestRecord;
  response: HttpResponseRecord | undefined;
}

export interface Recording {
  source: string;
  header: RecordingHeader;
  /** Every valid record, in file order. */
  records: RecordingRecord[];
  /** Sessions in the order they began. */
  sessions: (RecordedStream | RecordedExchange)[];
  problems: RecordingProblem[];
  /** True when the last line was cut short (the recorder stopped mid-write). */
  truncated: boolean;
}

export function readRecording(path: string): Recording {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RecordingError(`cannot read recording ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseRecording(text, path);
}

export function parseRecording(text: string, source = '<recording>'): Recording {
  const lines = text.split('\n');
  // A file written completely ends with a newline, so the last element is ''.
  const cutShort = lines.length > 0 && lines[lines.length - 1] !== '';
  if (!cutShort) lines.pop();
  const headerLine = lines[0];
  if (headerLine === undefined || headerLine.trim() === '') throw new RecordingError(`${source}: empty file, not an ih-mock recording`);
  const header = parseHeader(headerLine, source);

  const problems: RecordingProblem[] = [];
  const records: RecordingRecord[] = [];
  let truncated = false;
  for (let i = 1; i < lines.length; i++) {
    const lineNumber = i + 1;
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const isLast = i === lines.length - 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      if (isLast && cutShort) {
        truncated = true;
        problems.push({ line: lineNumber, message: 'the last line is cut short (the recorder stopped while writing it); everything before it was read' });
      } else {
        problems.push({ line: lineNumber, message: 'not JSON; skipped' });
      }
      continue;
    }
    const result = validateRecordingRecord(value);
    if (!result.ok) {
      problems.push({ line: lineNumber, message: `invalid record, skipped: ${formatDiagnostics(result.errors).split('\n').join('; ')}` });
      continue;
    }
    records.push(value as RecordingRecord);
  }
  return { source, header, records, sessions: groupSessions(records, problems), problems, truncated };
}

function parseHeader(line: string, source: string): RecordingHeader {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new RecordingError(`${source}:1: the header line is not JSON, so this is not an ih-mock recording`);
  }
  const format = (value as { format?: unknown } | null)?.format;
  const version = (value as { version?: unknown } | null)?.version;
  if (format !== RECORDING_FORMAT) throw new RecordingError(`${source}:1: not an ih-mock recording (format ${JSON.stringify(format)}, expected "${RECORDING_FORMAT}")`);
  if (version !== RECORDING_VERSION) throw new RecordingError(`${source}:1: recording format version ${JSON.stringify(version)} is not supported (this ih-mock reads version ${RECORDING_VERSION})`);
  const result = validateRecordingHeader(value);
  if (!result.ok) throw new RecordingError(`${source}:1: invalid header: ${formatDiagnostics(result.errors).split('\n').join('; ')}`);
  return value as RecordingHeader;
}

function groupSessions(records: readonly RecordingRecord[], problems: RecordingProblem[]): (RecordedStream | RecordedExchange)[] {
  const bySession = new Map<number, RecordedStream | RecordedExchange>();
  for (const record of records) {
    const existing = bySession.get(record.session);
    if (record.kind === 'ws.open' || record.kind === 'ws.refused') {
      if (!existing) bySession.set(record.session, { kind: 'stream', session: record.session, open: record, records: [] });
    } else if (record.kind === 'http.request') {
      if (!existing) bySession.set(record.session, { kind: 'http', session: record.session, request: record, response: undefined });
    } else if (record.kind === 'http.response') {
      if (existing?.kind === 'http') existing.response = record;
    } else if (existing?.kind === 'stream') {
      existing.records.push(record);
    } else {
      problems.push({ line: 0, message: `a ${record.kind} record of session ${record.session} comes before that session's open; skipped` });
    }
  }
  return [...bySession.values()];
}

/** The server's text frames of a stream session, parsed (frames that are not JSON are skipped). */
export function serverEvents(stream: RecordedStream): { type: string; data: unknown; timestamp?: string; correlation_id?: string }[] {
  const events: { type: string; data: unknown }[] = [];
  for (const record of stream.records) {
    if (record.kind !== 'ws.server.text') continue;
    try {
      const value = JSON.parse(record.text) as { type?: unknown; data?: unknown };
      if (typeof value.type === 'string') events.push(value as { type: string; data: unknown });
    } catch {
      // A non-JSON frame is not an event.
    }
  }
  return events;
}

/**
 * A trace: the ordered frames of one stream session in both directions, with their times. The
 * invariants (invariants.ts) are pure functions over traces; a trace comes from a recording, from a
 * live session the kit drove, or from a test.
 */
import type { RecordedStream, Recording } from '../server/record/reader.js';
import type { WsRefusedRecord } from '../server/types/generated.js';

export type TraceFrame =
  | { index: number; t: number; from: 'server'; kind: 'text'; text: string; event: ParsedEvent | null }
  | { index: number; t: number; from: 'server'; kind: 'binary'; bytes: number }
  | { index: number; t: number; from: 'client'; kind: 'text'; text: string }
  | { index: number; t: number; from: 'client'; kind: 'binary'; bytes: number; mediaSeconds: number | null }
  | { index: number; t: number; from: 'client' | 'server'; kind: 'close'; code: number; reason: string };

/** A server text frame parsed as an envelope (null when it is not JSON with a string `type`). */
export interface ParsedEvent {
  type: string;
  timestamp?: unknown;
  correlation_id?: unknown;
  data?: unknown;
}

export interface Trace {
  /** Where it came from, for reports: `file.jsonl#session 3`, a URL, a test name. */
  source: string;
  /** X-Correlation-ID of the upgrade response, when known. */
  upgradeCorrelationId: string | null;
  /** When the connection opened, in ms since the recording began (null: not recorded). */
  started: number | null;
  frames: TraceFrame[];
}

/** Parse a server text frame as an envelope. */
export function parseEvent(text: string): ParsedEvent | null {
  try {
    const value = JSON.parse(text) as unknown;
    if (value !== null && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string') return value as ParsedEvent;
  } catch {
    // not an envelope
  }
  return null;
}

/** One recorded stream session (an accepted upgrade) as a trace. */
export function traceFromRecordedStream(stream: RecordedStream, source: string): Trace {
  const frames: TraceFrame[] = [];
  for (const record of stream.records) {
    const index = frames.length;
    const { t } = record;
    switch (record.kind) {
      case 'ws.server.text':
        frames.push({ index, t, from: 'server', kind: 'text', text: record.text, event: parseEvent(record.text) });
        break;
      case 'ws.server.binary':
        frames.push({ index, t, from: 'server', kind: 'binary', bytes: record.bytes });
        break;
      case 'ws.client.text':
        frames.push({ index, t, from: 'client', kind: 'text', text: record.text });
        break;
      case 'ws.client.binary':
        frames.push({ index, t, from: 'client', kind: 'binary', bytes: record.bytes, mediaSeconds: record.media_seconds });
        break;
      case 'ws.close':
        frames.push({ index, t, from: record.by, kind: 'close', code: record.code, reason: record.reason });
        break;
      default:
        break;
    }
  }
  const open = stream.open;
  return { source, upgradeCorrelationId: open.kind === 'ws.open' ? open.correlation_id : null, started: open.started ?? null, frames };
}

/** Every accepted stream session of a recording as a trace (refused upgrades have no frames to check). */
export function tracesFromRecording(recording: Recording): Trace[] {
  return recording.sessions
    .filter((s): s is RecordedStream => s.kind === 'stream' && s.open.kind === 'ws.open')
    .map((s) => traceFromRecordedStream(s, `${recording.source}#session ${s.session}`));
}

/** A WebSocket upgrade the server refused (401 for a bad credential): no session, no frames. */
export interface RefusedUpgrade {
  /** Where it came from, for reports: `file.jsonl#session 3`. */
  source: string;
  /** When the upgrade was asked for (ms since the recording began). */
  at: number;
  status: number;
  /** The v1 error body's `error_id` (null: none readable). */
  code: string | null;
  /** The request's Authorization header as recorded (the credential redacted, the scheme kept), or null. */
  authorization: string | null;
  /** Whether a WebSocket subprotocol (where browsers put the credential) was offered. */
  subprotocol: boolean;
  /** The request's query string (credential-like parameters redacted). */
  query: string;
}

/** Every refused stream upgrade of a recording, in order. */
export function refusedUpgradesFromRecording(recording: Recording): RefusedUpgrade[] {
  return recording.sessions
    .filter((s): s is RecordedStream & { open: WsRefusedRecord } => s.kind === 'stream' && s.open.kind === 'ws.refused')
    .map((s) => ({
      source: `${recording.source}#session ${s.session}`,
      at: s.open.started ?? 0,
      status: s.open.status,
      code: errorIdOf(s.open.body),
      authorization: s.open.headers['authorization'] ?? null,
      subprotocol: (s.open.headers['sec-websocket-protocol'] ?? '') !== '',
      query: s.open.query,
    }));
}

function errorIdOf(body: string): string | null {
  try {
    const id = (JSON.parse(body) as { error_id?: unknown }).error_id;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

/**
 * The uploads a client made during one case, read from the kit's recording: what it sent (the
 * multipart form's fields and file summaries) and what it got (status, ih code, Retry-After, body),
 * with times in ms since the recording began. The upload invariants (upload-invariants.ts) are pure
 * functions over these.
 */
import { CLIENT_CLOSED_STATUS } from '../server/record/format.js';
import type { RecordedExchange, Recording } from '../server/record/reader.js';
import type { RecordedHttpBody } from '../server/types/generated.js';

export const UPLOAD_PATH = '/v1/upload/analyze';

export interface UploadExchange {
  /** Where it came from, for reports: `file.jsonl#session 3`. */
  source: string;
  /** 1-based, in the order the requests arrived. */
  number: number;
  /** When the request arrived (ms since the recording began). */
  at: number;
  method: string;
  contentType: string | null;
  /** The Authorization header as recorded (the credential redacted, the scheme kept), or null. */
  authorization: string | null;
  /** The query string (credential-like parameters redacted). */
  query: string;
  /** The request body as recorded (a multipart form: its fields, and each file's field, name, type and size). */
  body: RecordedHttpBody | null;
  answer:
    | { kind: 'answered'; at: number; status: number; code: string | null; retryAfterSeconds: number | null; json: unknown; correlationId: string | null; contentType: string | null }
    /** The client closed the connection before the answer reached it. */
    | { kind: 'abandoned'; at: number }
    /** Nothing recorded: the kit stopped before an answer came. */
    | { kind: 'none' };
}

/** Every request to the upload endpoint in a recording, in order. */
export function uploadsFromRecording(recording: Recording): UploadExchange[] {
  return recording.sessions
    .filter((s): s is RecordedExchange => s.kind === 'http' && s.request.path === UPLOAD_PATH)
    .map((s, i) => toExchange(s, i + 1, `${recording.source}#session ${s.session}`));
}

function toExchange(s: RecordedExchange, number: number, source: string): UploadExchange {
  const at = s.request.started ?? 0;
  const response = s.response;
  const base = { source, number, at, method: s.request.method, contentType: s.request.headers['content-type'] ?? null, authorization: s.request.headers['authorization'] ?? null, query: s.request.query, body: s.request.body };
  if (!response) return { ...base, answer: { kind: 'none' } };
  if (response.status === CLIENT_CLOSED_STATUS) return { ...base, answer: { kind: 'abandoned', at: at + response.t } };
  const json = response.body?.kind === 'json' ? response.body.json : null;
  const code = json !== null && typeof json === 'object' && typeof (json as { error_id?: unknown }).error_id === 'string' ? (json as { error_id: string }).error_id : null;
  // Retry-After in whole seconds (an HTTP date or anything else counts as absent: the 1-s default applies).
  const retryAfterText = response.headers['retry-after'] ?? '';
  const retryAfter = /^\d+$/.test(retryAfterText.trim()) ? Number(retryAfterText.trim()) : Number.NaN;
  const answer = {
    kind: 'answered' as const,
    at: at + response.t,
    status: response.status,
    code,
    retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : null,
    json,
    correlationId: response.headers['x-correlation-id'] ?? null,
    contentType: response.headers['content-type'] ?? null,
  };
  return { ...base, answer };
}

/**
 * A 429 for rate or concurrency (ih3001, ih3002) or a 5xx (including the 502 the kit's proxy records
 * when the server cut the connection): worth trying again later. Any other answer is final.
 */
export function isRetryable(answer: UploadExchange['answer']): boolean {
  if (answer.kind !== 'answered') return false;
  return (answer.status === 429 && (answer.code === 'ih3001' || answer.code === 'ih3002')) || answer.status >= 500;
}

/** The signal spans a 200 answer carries, in the stream's span shape (`type` → `signal_type`). */
export function answerSpans(exchange: UploadExchange): { signal_type: string; start: number; end: number }[] {
  if (exchange.answer.kind !== 'answered' || exchange.answer.status !== 200) return [];
  const signals = (exchange.answer.json as { signals?: unknown } | null)?.signals;
  if (!Array.isArray(signals)) return [];
  return signals.map((s: { type?: unknown; start?: unknown; end?: unknown }) => ({ signal_type: String(s.type), start: Number(s.start), end: Number(s.end) }));
}

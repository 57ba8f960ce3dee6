/**
 * The one error table. Every ih code ih-mock can produce, with its HTTP status or WebSocket
 * behaviour, default message and documentation link, lives here and nowhere else. `docs/errors.md`
 * lists the same codes; `server/errors.test.ts` keeps the two in step.
 */

export interface ErrorSpec {
  /** HTTP status on the HTTP API (also used for the upgrade response where it applies). */
  readonly http: number | null;
  /** What happens on a stream session: 'error' = error envelope, session stays open; 'close' = error envelope then close with `closeCode`. */
  readonly ws: 'error' | 'close' | null;
  /** WebSocket close code used after the envelope when `ws` is 'close' (defaults; some are configurable). */
  readonly closeCode?: number;
  /** Kebab-case title used in the documentation anchor. */
  readonly title: string;
  /** Default human-readable message. */
  readonly message: string;
  /**
   * True for ih-mock's own codes (ih49xx): HTTP-level failures the live error table has no code for.
   * Numbered 49 + the HTTP status's last two digits, in the request category; their links follow the
   * live format but have no anchor on the live docs.
   */
  readonly ihMock?: true;
}

export const ERROR_TABLE = {
  ih1001: { http: 500, ws: 'close', closeCode: 1011, title: 'internal-error', message: 'Internal server error.' },
  ih2001: { http: 401, ws: null, title: 'invalid-credentials', message: 'The API key or access token is invalid or expired.' },
  ih2002: { http: 401, ws: null, title: 'missing-credentials', message: 'No credentials were supplied. Send Authorization: Bearer <api_key or access token>.' },
  ih2003: { http: 403, ws: 'close', closeCode: 4003, title: 'insufficient-scope', message: 'The credential does not carry the scope this endpoint needs.' },
  ih2005: { http: 400, ws: null, title: 'missing-key-secret', message: 'key_secret is required.' },
  ih3001: { http: 429, ws: null, title: 'rate-limit-exceeded', message: 'Too many requests. Slow down and retry later.' },
  ih3002: { http: 429, ws: null, title: 'too-many-concurrent-requests', message: 'Too many concurrent requests for this account (at most 5).' },
  ih3003: { http: 429, ws: 'close', closeCode: 4029, title: 'usage-quota-exhausted', message: 'The usage quota of this account is exhausted.' },
  ih4001: { http: 400, ws: null, title: 'missing-file', message: 'No file was uploaded. Send the video in the multipart field "file".' },
  ih4002: { http: 400, ws: null, title: 'unsupported-format', message: 'Unsupported container. Supported: mp4, avi, mov, mkv, mpeg-ts, mpeg-2-ts, webm.' },
  ih4003: { http: 413, ws: null, title: 'file-too-large', message: 'The file exceeds the 32 MB upload limit.' },
  ih4007: { http: 400, ws: null, title: 'video-too-short', message: 'Video must be at least 3 seconds.' },
  ih4900: { http: 400, ws: null, title: 'bad-request', message: 'The HTTP request is malformed.', ihMock: true },
  ih4903: { http: 403, ws: null, title: 'origin-not-allowed', message: 'This origin may not call the API from a browser.', ihMock: true },
  ih4904: { http: 404, ws: null, title: 'not-found', message: 'No such endpoint.', ihMock: true },
  ih4908: { http: 408, ws: null, title: 'request-timeout', message: 'The request did not arrive in time.', ihMock: true },
  ih4931: { http: 431, ws: null, title: 'request-headers-too-large', message: 'The request headers are too large.', ihMock: true },
  ih5001: { http: 422, ws: 'error', title: 'no-video-stream', message: 'The media contains no video track.' },
  ih5002: { http: 422, ws: null, title: 'corrupted-video', message: 'Unable to process the video: the file is corrupted or cannot be read.' },
  ih5004: { http: null, ws: 'error', title: 'malformed-video-segment', message: 'The video segment could not be decoded.' },
  ih5006: { http: null, ws: 'error', title: 'segment-too-short', message: 'Video segments must be at least 3 seconds long.' },
  ih6001: { http: null, ws: 'error', title: 'invalid-session-config', message: 'Invalid session config frame.' },
  ih6002: { http: null, ws: 'error', title: 'message-too-large', message: 'WebSocket message too large. Individual video chunks must not exceed 32 MB.' },
  ih6003: { http: null, ws: 'close', closeCode: 4008, title: 'idle-timeout', message: 'The session was idle for too long: no video was received.' },
  ih6004: { http: null, ws: 'close', closeCode: 4009, title: 'max-session-duration', message: 'The session reached its maximum duration.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_TABLE;
export const ERROR_CODES = Object.keys(ERROR_TABLE) as ErrorCode[];

const DOCS_BASE = 'https://docs.interhuman.ai/api-reference/error-handling';

/** The documentation link for a code, in the live service's format. */
export function errorLink(code: ErrorCode): string {
  return `${DOCS_BASE}#${code}-${ERROR_TABLE[code].title}`;
}

/** The v1 HTTP error body. */
export interface HttpErrorBody {
  error_id: ErrorCode;
  correlation_id: string;
  link: string;
  message: string;
}

export function httpErrorBody(code: ErrorCode, correlationId: string, message?: string): HttpErrorBody {
  return { error_id: code, correlation_id: correlationId, link: errorLink(code), message: message ?? ERROR_TABLE[code].message };
}

/** HTTP status for a code that has one. */
export function httpStatus(code: ErrorCode): number {
  return ERROR_TABLE[code].http ?? 500;
}

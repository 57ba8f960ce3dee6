/**
 * The admin API's errors (docs/control-plane.md#errors). They keep the v1 error body's four fields
 * (`{error_id, correlation_id, link, message}`), so a client reads every ih-mock error the same way,
 * but carry ih-mock's own codes (`ihm…`): the admin API is not part of the Interhuman API, and a live
 * code would send the reader to the live documentation, which does not describe it. The link names
 * the section of docs/control-plane.md (shipped in the package) that explains the code.
 */
import type { AdminErrorBody, AdminErrorCode } from '../types/generated.js';

export const ADMIN_ERROR_TABLE = {
  ihm2001: { http: 401, title: 'invalid-admin-token', message: 'The admin token is wrong.' },
  ihm2002: { http: 401, title: 'missing-admin-token', message: 'The admin API needs the admin token here: send X-IH-Admin-Token: <token>.' },
  ihm2003: { http: 403, title: 'admin-disabled', message: 'The admin API is disabled: ih-mock listens on a non-loopback address and was started without --admin-token.' },
  ihm4001: { http: 400, title: 'invalid-admin-request', message: 'The admin request is invalid.' },
  ihm4004: { http: 404, title: 'unknown-session', message: 'No such session (open, or ended recently enough to be listed) in this scope.' },
  ihm4005: { http: 404, title: 'unknown-admin-route', message: 'No such admin route: GET /__ih/ lists them.' },
  ihm4008: { http: 408, title: 'wait-timed-out', message: 'Nothing matching the filter happened before the timeout.' },
  ihm4009: { http: 409, title: 'session-ended', message: 'The session has ended: nothing can be injected into it.' },
} as const satisfies Record<AdminErrorCode, { http: number; title: string; message: string }>;

export const ADMIN_ERROR_CODES = Object.keys(ADMIN_ERROR_TABLE) as AdminErrorCode[];

/** Where a code is explained: its section of docs/control-plane.md, as shipped in the package. */
export function adminErrorLink(code: AdminErrorCode): string {
  return `docs/control-plane.md#${code}-${ADMIN_ERROR_TABLE[code].title}`;
}

/** Thrown by the control plane for a request it refuses; the admin routes answer it with its status and body. */
export class AdminError extends Error {
  override readonly name = 'AdminError';
  readonly status: number;
  constructor(
    readonly code: AdminErrorCode,
    message: string = ADMIN_ERROR_TABLE[code].message,
  ) {
    super(message);
    this.status = ADMIN_ERROR_TABLE[code].http;
  }
}

export function adminErrorBody(code: AdminErrorCode, correlationId: string, message?: string): AdminErrorBody {
  return { error_id: code, correlation_id: correlationId, link: adminErrorLink(code), message: message ?? ADMIN_ERROR_TABLE[code].message };
}

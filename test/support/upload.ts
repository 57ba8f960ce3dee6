/**
 * Uploads for integration tests: `POST /v1/upload/analyze` with Node's `fetch` + `FormData`, checking
 * what every answer must satisfy (an X-Correlation-ID UUID equal to the error body's
 * correlation_id, a body valid against its schema).
 */
import { expect } from 'vitest';
import { formatDiagnostics, validateHttpError, validateUploadResponse } from '../../server/validation.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export interface UploadOptions {
  include?: string[];
  /** Put the include[] fields after the file part (default before). */
  includeAfter?: boolean;
  filename?: string;
  type?: string;
  /** Bearer credential; null sends none. */
  token?: string | null;
  /** Extra text fields. */
  fields?: [string, string][];
  /** Name of the file part (default "file"). */
  field?: string;
  /** Extra request headers (a test id: X-IH-Test-Id). */
  headers?: Record<string, string>;
}

export interface UploadResult {
  status: number;
  headers: Headers;
  body: any;
}

/**
 * Upload `file` and check what every response must satisfy: an X-Correlation-ID (a UUID) equal to
 * the error body's correlation_id, and a body valid against its schema.
 */
export async function upload(baseUrl: string, file: Blob | Uint8Array | null, options: UploadOptions = {}): Promise<UploadResult> {
  const form = new FormData();
  const includes = () => (options.include ?? []).forEach((flag) => form.append('include[]', flag));
  if (!options.includeAfter) includes();
  for (const [name, value] of options.fields ?? []) form.append(name, value);
  if (file !== null) {
    const blob = file instanceof Blob ? file : new Blob([file as Uint8Array<ArrayBuffer>], { type: options.type ?? 'application/octet-stream' });
    form.append(options.field ?? 'file', blob, options.filename ?? 'video.bin');
  }
  if (options.includeAfter) includes();
  return send(baseUrl, { body: form, ...(options.headers ? { headers: options.headers } : {}) }, options.token);
}

/** POST `init` (any body) to the upload endpoint with a Bearer `token` (null: none), and check the answer as `upload` does. */
export async function send(baseUrl: string, init: RequestInit, token: string | null = 'ih_live_test'): Promise<UploadResult> {
  const headers = new Headers(init.headers);
  if (token !== null) headers.set('Authorization', `Bearer ${token}`);
  const res = await fetch(`${baseUrl}/v1/upload/analyze`, { method: 'POST', ...init, headers });
  const body = await res.json();
  const id = res.headers.get('x-correlation-id');
  expect(id).toMatch(UUID);
  if (res.status === 200) {
    const check = validateUploadResponse(body);
    expect(check.ok, check.ok ? '' : formatDiagnostics(check.errors)).toBe(true);
  } else {
    const check = validateHttpError(body);
    expect(check.ok, check.ok ? '' : formatDiagnostics(check.errors)).toBe(true);
    expect(body.correlation_id).toBe(id);
  }
  return { status: res.status, headers: res.headers, body };
}

/** The answer is the v1 error `code` with HTTP `status` (its message shown on failure). */
export function expectError(result: UploadResult, status: number, code: string): void {
  expect({ status: result.status, code: result.body.error_id }, result.body.message).toEqual({ status, code });
}

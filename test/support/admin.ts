/**
 * Calling ih-mock's admin API over HTTP in tests, the way an out-of-process test would: plain fetch,
 * headers and JSON. Every answer is checked against its schema in admin.schema.json (errors: the
 * admin error body, with `correlation_id` equal to the X-Correlation-ID header), so a test that
 * reads a field also checks the documented shape.
 */
import { expect } from 'vitest';
import { formatDiagnostics, validateAdminBody, type AdminSchema } from '../../server/validation.js';

export interface AdminCall {
  body?: unknown;
  /** Sent as X-IH-Test-Id. */
  testId?: string;
  /** Sent as X-IH-Admin-Token. */
  token?: string;
  headers?: Record<string, string>;
  /** The schema of a 200 answer (errors are always checked as AdminErrorBody). */
  schema?: AdminSchema;
}

export interface AdminAnswer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export async function adminCall<T = any>(baseUrl: string, method: string, path: string, call: AdminCall = {}): Promise<AdminAnswer<T>> {
  const headers: Record<string, string> = { ...(call.headers ?? {}) };
  if (call.testId !== undefined) headers['X-IH-Test-Id'] = call.testId;
  if (call.token !== undefined) headers['X-IH-Admin-Token'] = call.token;
  let payload: string | undefined;
  if (call.body !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    payload = typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body: payload ?? null });
  const text = await response.text();
  const body = text === '' ? undefined : (JSON.parse(text) as T);
  const schema: AdminSchema | undefined = response.status >= 400 && response.status !== 500 ? 'AdminErrorBody' : response.status === 200 ? call.schema : undefined;
  if (schema !== undefined) {
    const check = validateAdminBody(schema, body);
    if (!check.ok) throw new Error(`${method} ${path} answered ${response.status} with a body that is not a valid ${schema}:\n${formatDiagnostics(check.errors)}\n${text.slice(0, 500)}`);
  }
  if (schema === 'AdminErrorBody') expect((body as { correlation_id: string }).correlation_id).toBe(response.headers.get('x-correlation-id'));
  return { status: response.status, headers: response.headers, body: body as T };
}

export const adminGet = <T = any>(baseUrl: string, path: string, call: AdminCall = {}) => adminCall<T>(baseUrl, 'GET', path, call);
export const adminPost = <T = any>(baseUrl: string, path: string, body: unknown, call: AdminCall = {}) => adminCall<T>(baseUrl, 'POST', path, { ...call, body });

/** The first journal entry after `since` matching `query` (URL query string), waited for through the wait route; fails on anything but 200. */
export async function waitEntry(baseUrl: string, query: string, call: AdminCall = {}): Promise<{ entry: any; next: number }> {
  const answer = await adminGet(baseUrl, `/__ih/journal/wait?${query}`, { ...call, schema: 'WaitResult' });
  if (answer.status !== 200) throw new Error(`wait ${query} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

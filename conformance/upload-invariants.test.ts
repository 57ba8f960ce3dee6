/**
 * The upload invariants as pure functions: hand-built runs of uploads, each rule's edges (a retry
 * exactly at Retry-After, one just before it, a retry after a final answer, an abandoned upload).
 * The same rules over real clients and sockets: test/integration/conformance.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CLIENT_INVARIANTS, type ClientRun } from './client-invariants.js';
import { checkUpload } from './upload-server-invariants.js';
import type { UploadExchange } from './uploads.js';

const FILE_BYTES = 92_142;

function upload(number: number, at: number, answer: UploadExchange['answer'], overrides: Partial<UploadExchange> = {}): UploadExchange {
  return {
    source: 'test',
    number,
    at,
    method: 'POST',
    contentType: 'multipart/form-data; boundary=x',
    authorization: 'Bearer [redacted]',
    query: '',
    body: { kind: 'multipart', fields: [{ name: 'include[]', value: 'conversation_quality_overall' }], files: [{ field: 'file', filename: 'call.webm', content_type: 'video/webm', bytes: FILE_BYTES, sha256: '0'.repeat(64) }] },
    answer,
    ...overrides,
  };
}

const ok = (at: number, signals: unknown[] = []): UploadExchange['answer'] => ({ kind: 'answered', at, status: 200, code: null, retryAfterSeconds: null, json: { signals, engagement_state: [] }, correlationId: null, contentType: null });
const refused = (at: number, status: number, code: string, retryAfterSeconds: number | null = null): UploadExchange['answer'] => ({ kind: 'answered', at, status, code, retryAfterSeconds, json: { error_id: code }, correlationId: null, contentType: null });

function run(uploads: UploadExchange[], observations: ClientRun['observations'] = null): ClientRun {
  return { sessions: [], refusedUpgrades: [], uploads, mediaBytes: FILE_BYTES, observations, exitCode: 0, scriptedErrors: new Set() };
}

/** `invariant: message` for every violation. */
function violations(r: ClientRun): string[] {
  return CLIENT_INVARIANTS.flatMap((inv) => inv.check(r).map((v) => `${v.invariant}: ${v.message}`));
}

describe('upload invariants', () => {
  it('one good upload whose signals the client read: nothing to report', () => {
    const answer = ok(500, [{ type: 'agreement', start: 0, end: 10, probability: 'high', rationale: 'nods' }]);
    expect(violations(run([upload(1, 100, answer)], [{ kind: 'spans', spans: [{ signal_type: 'agreement', start: 0, end: 10 }] }]))).toEqual([]);
  });

  it('the retry rule: Retry-After honoured to the ms passes, 100 ms early fails, and without Retry-After 1 s applies', () => {
    const first = upload(1, 0, refused(100, 429, 'ih3002', 2));
    expect(violations(run([first, upload(2, 2100, ok(2200))]))).toEqual([]);
    expect(violations(run([first, upload(2, 2000, ok(2100))]))).toEqual(['client.upload-retry: upload 2 came 1900 ms after 429 ih3002; it had to wait 2000 ms (Retry-After)']);
    const cut = upload(1, 0, refused(50, 502, 'none'));
    expect(violations(run([{ ...cut, answer: { ...cut.answer, code: null } as UploadExchange['answer'] }, upload(2, 500, ok(600))]))).toEqual(['client.upload-retry: upload 2 came 450 ms after 502; it had to wait 1000 ms']);
  });

  it('no upload after a final answer, none before the previous one is answered, at most 3 retries', () => {
    expect(violations(run([upload(1, 0, refused(10, 413, 'ih4003')), upload(2, 5000, refused(5010, 413, 'ih4003'))]))).toContain('client.upload-retry: upload 2 after upload 1 got a final answer (413 ih4003)');
    expect(violations(run([upload(1, 0, ok(3000)), upload(2, 100, ok(3100))]))).toContain('client.upload-retry: upload 2 was sent before upload 1 had its answer');
    const busy = (n: number) => upload(n, (n - 1) * 2000, refused((n - 1) * 2000 + 10, 429, 'ih3002', 1));
    expect(violations(run([1, 2, 3, 4, 5].map(busy)))).toContain('client.upload-retry: 5 uploads in one case (more than 3 retries)');
  });

  it('an abandoned upload, a wrong include field, a missing file part and a partial file', () => {
    expect(violations(run([upload(1, 0, { kind: 'abandoned', at: 2000 })]))).toEqual(['client.upload-waits: upload 1: the client closed the connection 2000 ms after sending it, before the answer']);
    const body = (fields: { name: string; value: string }[], files: number[]) => ({ kind: 'multipart' as const, fields, files: files.map((bytes) => ({ field: 'file', filename: null, content_type: null, bytes, sha256: '0'.repeat(64) })) });
    expect(violations(run([upload(1, 0, ok(10), { body: body([{ name: 'include', value: 'conversation_quality_overall' }], [FILE_BYTES]) })]))).toEqual([
      'client.upload-include: upload 1 sends "include=conversation_quality_overall"; the API reads only "include[]" fields',
    ]);
    expect(violations(run([upload(1, 0, ok(10), { body: body([{ name: 'include[]', value: 'everything' }], [FILE_BYTES]) })]))[0]).toMatch(/asks for include\[\]=everything, which the API ignores/);
    expect(violations(run([upload(1, 0, refused(10, 400, 'ih4001'), { body: body([], []) })]))).toEqual([
      'client.upload-request: upload 1 has no "file" part (file parts: none)',
      'client.upload-request: upload 1 was refused with ih4001: the request did not carry the video as the API expects',
    ]);
    expect(violations(run([upload(1, 0, ok(10), { body: body([], [1000]) })]))).toEqual([`client.upload-request: upload 1 sent 1000 bytes in "file"; the video is ${FILE_BYTES}`]);
  });

  it('the answer the client gave up on must be surfaced; one it retried need not be', () => {
    const spans = { kind: 'spans' as const, spans: [] };
    expect(violations(run([upload(1, 0, refused(10, 429, 'ih3003'))], [spans]))).toEqual(["client.errors-surfaced: upload 1's answer ih3003 was not surfaced"]);
    expect(violations(run([upload(1, 0, refused(10, 429, 'ih3003'))], [{ kind: 'error', code: 'ih3003' }, spans]))).toEqual([]);
    expect(violations(run([upload(1, 0, refused(10, 429, 'ih3002', 1)), upload(2, 1100, ok(1200))], [spans]))).toEqual([]);
  });

  it('spans must be the accepted answer\'s signals, by their "type"', () => {
    const answer = ok(10, [{ type: 'hesitation', start: 3, end: 9, probability: 'low', rationale: 'pauses' }]);
    expect(violations(run([upload(1, 0, answer)], [{ kind: 'spans', spans: [{ signal_type: 'undefined', start: 3, end: 9 }] }]))).toEqual([
      'client.spans-match: spans differ: missing hesitation [3, 9); unexpected undefined [3, 9)',
    ]);
  });
});

describe('upload server invariants', () => {
  const ID = '3f0c2a1e-8a1b-4c2d-9e3f-0a1b2c3d4e5f';
  const OTHER = '00000000-0000-4000-8000-000000000000';
  const body = (code: string, correlation = ID) => ({ error_id: code, correlation_id: correlation, link: `https://docs.interhuman.ai/api-reference/error-handling#${code}`, message: 'm' });
  const answered = (status: number, json: unknown, extra: Partial<Extract<UploadExchange['answer'], { kind: 'answered' }>> = {}): UploadExchange =>
    upload(1, 0, { kind: 'answered', at: 10, status, code: (json as { error_id?: string } | null)?.error_id ?? null, retryAfterSeconds: null, json, correlationId: ID, contentType: 'application/json', ...extra });
  const found = (e: UploadExchange) => checkUpload(e).violations.map((v) => `${v.invariant}: ${v.message}`);

  it('accept a valid analysis, a v1 error with its table status, and a cut connection', () => {
    expect(found(answered(200, { signals: [], engagement_state: [] }))).toEqual([]);
    expect(found(answered(413, body('ih4003')))).toEqual([]);
    expect(found(answered(429, body('ih3001'), { retryAfterSeconds: 1 }))).toEqual([]);
    expect(found(answered(502, null))).toEqual([]);
  });

  it('report an invalid analysis, a code with another status, a foreign correlation id and a 429 ih3001 without Retry-After', () => {
    expect(found(answered(200, { signals: 'none' }))[0]).toMatch(/^server\.upload-answer: the 200 body is not a valid analysis/);
    expect(found(answered(400, body('ih4003')))).toEqual(['server.upload-answer: ih4003 came with HTTP 400; the error table says 413']);
    expect(found(answered(413, body('ih4003', OTHER)))).toEqual([`server.upload-correlation-id: correlation_id ${OTHER} in the body, ${ID} in X-Correlation-ID`]);
    expect(found(answered(429, body('ih3001')))).toEqual(['server.upload-retry-after: 429 ih3001 without Retry-After']);
  });
});

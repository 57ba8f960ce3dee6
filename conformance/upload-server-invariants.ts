/**
 * Server invariants of the upload endpoint (docs/protocol.md §2 and §5), over one recorded upload: what any
 * server (ih-mock, the live service through a recording) must answer. `ih-mock check` applies them
 * to every upload of a recording; the kit applies them to ih-mock's own answers in upload cases.
 */
import { ERROR_TABLE, type ErrorCode } from '../server/errors.js';
import { formatDiagnostics, validateHttpError, validateUploadResponse } from '../server/validation.js';
import { rule, type CheckResult, type Rule } from './invariants.js';
import type { UploadExchange } from './uploads.js';

export type UploadServerInvariant = Rule<UploadExchange>;

const isCode = (code: string | null): code is ErrorCode => code !== null && Object.hasOwn(ERROR_TABLE, code);

export const UPLOAD_SERVER_INVARIANTS: readonly UploadServerInvariant[] = [
  rule('server.upload-answer', 'a 200 carries a schema-valid analysis; any other answer a v1 error body whose code has that HTTP status', 'error', (e, report) => {
    if (e.answer.kind !== 'answered') return;
    const { status, json, code } = e.answer;
    if (status === 200) {
      const valid = validateUploadResponse(json);
      if (!valid.ok) report(null, `the 200 body is not a valid analysis: ${formatDiagnostics(valid.errors).split('\n').join('; ')}`);
      return;
    }
    if (status === 502 && json === null) return; // no answer at all: the recording proxy's own report of a cut connection
    const valid = validateHttpError(json);
    if (!valid.ok) {
      report(null, `the ${status} body is not a v1 error body: ${formatDiagnostics(valid.errors).split('\n').join('; ')}`);
      return;
    }
    if (!isCode(code)) report(null, `error_id ${String(code)} is not in the error table`);
    else if (ERROR_TABLE[code].http !== status) report(null, `${code} came with HTTP ${status}; the error table says ${String(ERROR_TABLE[code].http)}`);
  }),
  rule('server.upload-correlation-id', 'an error body names the X-Correlation-ID of its response', 'error', (e, report) => {
    if (e.answer.kind !== 'answered' || e.answer.status === 200) return;
    const inBody = (e.answer.json as { correlation_id?: unknown } | null)?.correlation_id;
    if (inBody !== undefined && inBody !== e.answer.correlationId) report(null, `correlation_id ${String(inBody)} in the body, ${String(e.answer.correlationId)} in X-Correlation-ID`);
  }),
  rule('server.upload-retry-after', 'a 429 for the rate limit (ih3001) says when to retry (Retry-After)', 'warning', (e, report) => {
    if (e.answer.kind === 'answered' && e.answer.status === 429 && e.answer.code === 'ih3001' && e.answer.retryAfterSeconds === null) report(null, '429 ih3001 without Retry-After');
  }),
];

/** Apply the upload server invariants to one upload. */
export function checkUpload(exchange: UploadExchange): CheckResult {
  return {
    source: exchange.source,
    violations: UPLOAD_SERVER_INVARIANTS.flatMap((inv) => inv.check(exchange)),
    checked: UPLOAD_SERVER_INVARIANTS.map((inv) => ({ id: inv.id, severity: inv.severity })),
  };
}

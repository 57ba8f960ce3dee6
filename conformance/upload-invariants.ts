/**
 * Client invariants of the upload endpoint (docs/protocol.md §2), judged from the uploads the kit recorded.
 * The upload cases' answers also feed `client.spans-match` and `client.errors-surfaced`
 * (client-invariants.ts), which judge the client's own view.
 */
import type { ClientInvariant, ClientRun } from './client-invariants.js';
import { rule } from './invariants.js';
import { isRetryable, type UploadExchange } from './uploads.js';

/** The include flags the upload endpoint knows, and the multipart field that carries them. */
const INCLUDE_FIELD = 'include[]';
const INCLUDE_VALUES = new Set(['conversation_quality_overall', 'conversation_quality_timeline']);
/** Answers that mean the request itself was wrong, when the kit's sample file is valid. */
const REQUEST_ERRORS = new Set(['ih4001', 'ih4002', 'ih4007', 'ih5001', 'ih5002']);
/** Wait before a retry when the answer names none (ms). */
const DEFAULT_RETRY_WAIT_MS = 1000;
/** Slack on a Retry-After wait: the answer's time is when the proxy saw it end, not when the client read it. */
const RETRY_SLACK_MS = 50;
const MAX_RETRIES = 3;

const describeAnswer = (e: UploadExchange) => (e.answer.kind === 'answered' ? `${e.answer.status}${e.answer.code ? ` ${e.answer.code}` : ''}` : e.answer.kind);

export const UPLOAD_INVARIANTS: readonly ClientInvariant[] = [
  rule<ClientRun>('client.upload-request', 'every upload is a multipart/form-data POST with the whole video in the "file" part', 'error', (run, report) => {
    for (const e of run.uploads) {
      const where = `upload ${e.number}`;
      if (e.method !== 'POST') report(null, `${where} is a ${e.method}, not a POST`);
      if (!/^multipart\/form-data/i.test(e.contentType ?? '')) report(null, `${where} has Content-Type ${e.contentType ?? '(none)'}, not multipart/form-data`);
      else if (e.body?.kind === 'multipart') {
        const files = e.body.files.filter((f) => f.field === 'file');
        if (files.length === 0) report(null, `${where} has no "file" part (file parts: ${e.body.files.map((f) => `"${f.field}"`).join(', ') || 'none'})`);
        else if (run.mediaBytes !== null && files[0]!.bytes !== run.mediaBytes) report(null, `${where} sent ${files[0]!.bytes} bytes in "file"; the video is ${run.mediaBytes}`);
      }
      if (e.answer.kind === 'answered' && e.answer.code !== null && REQUEST_ERRORS.has(e.answer.code) && !run.scriptedErrors.has(e.answer.code)) {
        report(null, `${where} was refused with ${e.answer.code}: the request did not carry the video as the API expects`);
      }
    }
  }),
  rule<ClientRun>('client.upload-include', 'include flags, if any, are include[] fields with the documented values (others are ignored by the API)', 'error', (run, report) => {
    for (const e of run.uploads) {
      if (e.body?.kind !== 'multipart') continue;
      for (const field of e.body.fields) {
        if (field.name !== INCLUDE_FIELD && /^include/i.test(field.name)) report(null, `upload ${e.number} sends "${field.name}=${field.value}"; the API reads only "${INCLUDE_FIELD}" fields`);
        else if (field.name === INCLUDE_FIELD && !INCLUDE_VALUES.has(field.value)) report(null, `upload ${e.number} asks for include[]=${field.value}, which the API ignores (it knows ${[...INCLUDE_VALUES].join(', ')})`);
      }
    }
  }),
  rule<ClientRun>('client.upload-waits', 'the client waits for the answer to every upload (the real analysis takes minutes)', 'error', (run, report) => {
    for (const e of run.uploads) {
      if (e.answer.kind === 'abandoned') report(null, `upload ${e.number}: the client closed the connection ${Math.round(e.answer.at - e.at)} ms after sending it, before the answer`);
    }
  }),
  rule<ClientRun>('client.upload-retry', `no upload after a final answer; after a 429 (ih3001, ih3002) or a 5xx, a retry waits Retry-After (else 1 s), at most ${MAX_RETRIES} times`, 'error', (run, report) => {
    if (run.uploads.length > MAX_RETRIES + 1) report(null, `${run.uploads.length} uploads in one case (more than ${MAX_RETRIES} retries)`);
    run.uploads.forEach((next, i) => {
      const previous = run.uploads[i - 1];
      if (!previous || previous.answer.kind !== 'answered') return; // abandoned: client.upload-waits says so
      const answer = previous.answer;
      if (next.at < answer.at) {
        report(null, `upload ${next.number} was sent before upload ${previous.number} had its answer`);
        return;
      }
      if (!isRetryable(answer)) {
        report(null, `upload ${next.number} after upload ${previous.number} got a final answer (${describeAnswer(previous)})`);
        return;
      }
      const waitMs = answer.retryAfterSeconds !== null ? answer.retryAfterSeconds * 1000 : DEFAULT_RETRY_WAIT_MS;
      const waited = next.at - answer.at;
      if (waited + RETRY_SLACK_MS < waitMs) report(null, `upload ${next.number} came ${Math.round(waited)} ms after ${describeAnswer(previous)}; it had to wait ${waitMs} ms${answer.retryAfterSeconds !== null ? ' (Retry-After)' : ''}`);
    });
  }),
];

/** The upload answer a client must surface: an error answer it did not retry (only the last upload's can be one). */
export function finalUploadError(run: ClientRun): { exchange: UploadExchange; code: string } | null {
  const last = run.uploads.at(-1);
  if (last?.answer.kind !== 'answered' || last.answer.code === null || last.answer.status < 400) return null;
  return { exchange: last, code: last.answer.code };
}

/** The last upload answered 200: the result the client's final spans must match (null: none). */
export function acceptedUpload(run: ClientRun): UploadExchange | null {
  return [...run.uploads].reverse().find((e) => e.answer.kind === 'answered' && e.answer.status === 200) ?? null;
}

/**
 * Scoping by test: a test id groups the sessions, journal entries, queued faults and defaults of one
 * test, so tests running in parallel against one ih-mock do not see each other
 * (docs/control-plane.md#scoping-by-test). A client names its test with the `X-IH-Test-Id` header or
 * the `test_id` query parameter (browsers cannot set headers on a WebSocket upgrade), on the stream
 * upgrade, on uploads and token exchanges, and on admin calls.
 *
 * Invariants: no test id is the unscoped scope (null), which is a scope like the others for queued
 * faults and defaults; an admin call without a test id sees every scope.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** As written in docs and messages; Node lower-cases header names. */
export const TEST_ID_HEADER_NAME = 'X-IH-Test-Id';
const TEST_ID_HEADER = 'x-ih-test-id';
export const TEST_ID_PARAM = 'test_id';

/** The same rule as admin.schema.json#/$defs/TestId. */
const TEST_ID_PATTERN = /^[!-~]([ -~]{0,198}[!-~])?$/;

/** A test id that cannot be used; the message says why. */
export class TestIdError extends Error {
  override name = 'TestIdError';
}

/** Checks a test id given in code (the programmatic API); null/undefined = none. */
export function checkTestId(value: string | null | undefined, where = 'testId'): string | null {
  if (value === undefined || value === null) return null;
  if (!TEST_ID_PATTERN.test(value)) {
    throw new TestIdError(`${where} must be 1 to 200 printable ASCII characters without leading or trailing spaces, got ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`);
  }
  return value;
}

/**
 * The test id of a request: its `X-IH-Test-Id` header or `test_id` query parameter, or null. Throws
 * `TestIdError` for a malformed one, a repeated parameter, or a header and a parameter that disagree.
 */
export function testIdOf(headers: IncomingHttpHeaders, params: URLSearchParams): string | null {
  const raw = headers[TEST_ID_HEADER];
  const fromHeader = checkTestId(Array.isArray(raw) ? raw.join(', ') : raw, `the ${TEST_ID_HEADER_NAME} header`);
  const values = params.getAll(TEST_ID_PARAM);
  if (values.length > 1) throw new TestIdError(`give ?${TEST_ID_PARAM}= once, not ${values.length} times`);
  const fromQuery = checkTestId(values[0], `?${TEST_ID_PARAM}=`);
  if (fromHeader !== null && fromQuery !== null && fromHeader !== fromQuery) {
    throw new TestIdError(`the ${TEST_ID_HEADER_NAME} header (${JSON.stringify(fromHeader)}) and ?${TEST_ID_PARAM}= (${JSON.stringify(fromQuery)}) name different tests; give one`);
  }
  return fromHeader ?? fromQuery;
}

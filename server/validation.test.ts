import { describe, expect, it } from 'vitest';
import { ERROR_CODES, httpErrorBody } from './errors.js';
import {
  SERVER_EVENT_TYPES,
  assertValidServerEvent,
  describeConfigFrameProblem,
  formatDiagnostics,
  parseClientTextFrame,
  validateCloseFrame,
  validateConfigFrame,
  validateHttpError,
  validateHttpValidationError,
  validateAuthRequest,
  validateAuthResponse,
  authRequestProblems,
  validateScenarioObject,
  validateServerEvent,
  type ValidationResult,
} from './validation.js';

const CORRELATION_ID = '6d5b5776-265d-430d-8b4f-e37dde26fa93';
const envelope = (type: string, data: unknown) => ({ type, timestamp: '2026-06-20T15:21:55.149561Z', correlation_id: CORRELATION_ID, data });
const errorsOf = (result: ValidationResult) => (result.ok ? [] : result.errors);

const EXPECTED =
  'a session config frame is a bare JSON object with only optional "include" (array of strings) and "goal_dimensions" (array of strings or null), for example {"include":["conversation_quality_overall"]}';

describe('validateServerEvent', () => {
  it('accepts a flat signal.detected', () => {
    const event = envelope('signal.detected', { signal_type: 'agreement', start: 3, probability: 'high', rationale: 'Nods.' });
    expect(validateServerEvent(event)).toEqual({ ok: true });
  });

  it('reports only the errors of the variant named by type, with pointers and readable messages', () => {
    const event = envelope('signal.ended', { signal_type: 'joy', end: -1, start: 2 });
    expect(errorsOf(validateServerEvent(event))).toEqual([
      { path: '/data/start', message: 'unexpected key "start"' },
      { path: '/data/signal_type', message: expect.stringMatching(/^must be one of agreement, confidence, .* \(got "joy"\)$/) },
      { path: '/data/end', message: 'must be >= 0 (got -1)' },
    ]);
  });

  it('names the missing, unknown or mistyped type', () => {
    expect(errorsOf(validateServerEvent({ data: {} }))).toEqual([{ path: '/type', message: 'is required' }]);
    expect(errorsOf(validateServerEvent({ type: 7 }))).toEqual([{ path: '/type', message: 'must be a string (got 7)' }]);
    expect(errorsOf(validateServerEvent(envelope('signal.started', {})))).toEqual([
      { path: '/type', message: `must be one of ${SERVER_EVENT_TYPES.join(', ')} (got "signal.started")` },
    ]);
    expect(errorsOf(validateServerEvent([]))).toEqual([{ path: '', message: 'must be an object (got an array)' }]);
  });

  it('explains the timestamp format instead of printing the regex', () => {
    const event = { ...envelope('session.ended', { reason: 'client_shutdown' }), timestamp: '2026-06-20T15:21:55.149Z' };
    expect(errorsOf(validateServerEvent(event))).toEqual([
      {
        path: '/timestamp',
        message: 'must be an ISO 8601 UTC timestamp with exactly 6 fractional digits and a trailing Z, e.g. 2026-06-20T15:21:55.149561Z (got "2026-06-20T15:21:55.149Z")',
      },
    ]);
  });

  it('checks error events: code from the table, uri link, 1-based segment or null', () => {
    const good = { code: 'ih6002', message: 'Too large.', link: 'https://docs.interhuman.ai/api-reference/error-handling#ih6002-message-too-large', segment: 2 };
    expect(validateServerEvent(envelope('error', good)).ok).toBe(true);
    expect(validateServerEvent(envelope('error', { ...good, segment: null })).ok).toBe(true);
    expect(errorsOf(validateServerEvent(envelope('error', { ...good, code: 'ih9999', segment: 0, link: 'docs' }))).map((d) => d.path)).toEqual([
      '/data/code',
      '/data/link',
      '/data/segment',
    ]);
    expect(errorsOf(validateServerEvent(envelope('error', { ...good, segment: 1.5 })))).toEqual([{ path: '/data/segment', message: 'must be an integer or null (got 1.5)' }]);
  });

  it('checks conversation_quality.updated: at least one part, one timeline entry, integer scores', () => {
    const scores = { quality_index: 70, clarity: 70, authority: 60, energy: 80, rapport: 75, learning: 65 };
    expect(validateServerEvent(envelope('conversation_quality.updated', { overall: scores })).ok).toBe(true);
    expect(errorsOf(validateServerEvent(envelope('conversation_quality.updated', {})))).toEqual([
      { path: '/data', message: 'must contain at least one of "overall", "timeline"' },
    ]);
    const period = { start: 0, end: 9, values: scores };
    expect(errorsOf(validateServerEvent(envelope('conversation_quality.updated', { timeline: [period, period] })))).toEqual([
      { path: '/data/timeline', message: 'must have at most 1 item' },
    ]);
    expect(errorsOf(validateServerEvent(envelope('conversation_quality.updated', { overall: { ...scores, energy: 80.5, rapport: 101 } })))).toEqual([
      { path: '/data/overall/energy', message: 'must be an integer (got 80.5)' },
      { path: '/data/overall/rapport', message: 'must be <= 100 (got 101)' },
    ]);
  });

  it('never throws, whatever the input', () => {
    for (const value of [undefined, null, 0, '', 'x', [], {}, { type: null }, { type: 'error', data: null }]) {
      expect(() => validateServerEvent(value)).not.toThrow();
      expect(validateServerEvent(value).ok).toBe(false);
    }
  });

  it('assertValidServerEvent throws a formatted message', () => {
    expect(() => assertValidServerEvent(envelope('session.ended', { reason: 'timeout' }))).toThrow(
      'invalid server event "session.ended":\n/data/reason: must be "client_shutdown" (got "timeout")',
    );
    expect(() => assertValidServerEvent(envelope('session.ended', { reason: 'client_shutdown' }))).not.toThrow();
  });
});

describe('formatDiagnostics', () => {
  it('prints one line per diagnostic, the root as (root)', () => {
    expect(formatDiagnostics([{ path: '', message: 'must be an object (got null)' }, { path: '/a/0', message: 'is required' }])).toBe(
      '(root): must be an object (got null)\n/a/0: is required',
    );
  });

  it('escapes keys in pointers', () => {
    expect(errorsOf(validateConfigFrame({ 'a/b~c': 1 }))).toEqual([{ path: '/a~1b~0c', message: 'unexpected key "a/b~c"' }]);
  });
});

describe('client frames', () => {
  it('config frame: both keys optional, unknown include values allowed, nothing else', () => {
    expect(validateConfigFrame({}).ok).toBe(true);
    expect(validateConfigFrame({ include: ['conversation_quality_overall', 'feedback'], goal_dimensions: null }).ok).toBe(true);
    expect(validateConfigFrame({ goal_dimensions: ['clarity'] }).ok).toBe(true);
    expect(errorsOf(validateConfigFrame({ type: 'session.configure' }))).toEqual([{ path: '/type', message: 'unexpected key "type"' }]);
  });

  it('close frame: exactly {"type":"session.close"}', () => {
    expect(validateCloseFrame({ type: 'session.close' }).ok).toBe(true);
    expect(errorsOf(validateCloseFrame({ type: 'session.end' }))).toEqual([{ path: '/type', message: 'must be "session.close" (got "session.end")' }]);
    expect(errorsOf(validateCloseFrame({}))).toEqual([{ path: '/type', message: 'is required' }]);
  });

  describe('describeConfigFrameProblem', () => {
    it('is null for valid frames', () => {
      expect(describeConfigFrameProblem('{"include":["conversation_quality_overall","conversation_quality_timeline"]}')).toBeNull();
      expect(describeConfigFrameProblem('{"include":["made_up"],"goal_dimensions":null}')).toBeNull();
      expect(describeConfigFrameProblem('{}')).toBeNull();
    });

    it("explains the launch post's typed frame", () => {
      expect(describeConfigFrameProblem('{"type":"session.configure","include":["conversation_quality","feedback"]}')).toBe(
        `unexpected key "type" (value "session.configure"); ${EXPECTED}`,
      );
    });

    it('explains text that is not JSON', () => {
      expect(describeConfigFrameProblem('include=all')).toMatch(/^the text frame is not valid JSON \(.+\); a session config frame is a bare JSON object/);
    });

    it('explains JSON that is not an object', () => {
      expect(describeConfigFrameProblem('["conversation_quality_overall"]')).toBe(`the text frame is a JSON array, not an object; ${EXPECTED}`);
      expect(describeConfigFrameProblem('"hello"')).toBe(`the text frame is a JSON string ("hello"), not an object; ${EXPECTED}`);
      expect(describeConfigFrameProblem('42')).toBe(`the text frame is a JSON number (42), not an object; ${EXPECTED}`);
      expect(describeConfigFrameProblem('null')).toBe(`the text frame is JSON null, not an object; ${EXPECTED}`);
    });

    it('explains wrong types and lists every problem', () => {
      expect(describeConfigFrameProblem('{"include":"conversation_quality_overall"}')).toBe(
        `"include" must be an array (got "conversation_quality_overall"); ${EXPECTED}`,
      );
      expect(describeConfigFrameProblem('{"include":[1],"goal_dimensions":"x","extra":{"a":1}}')).toBe(
        `unexpected key "extra" (value an object), "include"[0] must be a string (got 1), "goal_dimensions" must be an array or null (got "x"); ${EXPECTED}`,
      );
    });
  });

  describe('the cost of a bad frame is bounded', () => {
    it('validation can stop at the first problem: one error for 700 000 wrong items', () => {
      const huge = { include: Array.from({ length: 700_000 }, () => 1) };
      expect(errorsOf(validateConfigFrame(huge, { firstProblemOnly: true }))).toEqual([{ path: '/include/0', message: 'must be a string (got 1)' }]);
      expect(errorsOf(validateCloseFrame({ type: 'session.close', ...Object.fromEntries(Array.from({ length: 1000 }, (_, k) => [`k${k}`, k])) }, { firstProblemOnly: true }))).toHaveLength(1);
    });

    it('a long frame is described by its first problem, a short one by five at most, and keys are cut', () => {
      const long = describeConfigFrameProblem(`{"include":[${Array.from({ length: 700_000 }, () => '1').join(',')}]}`)!;
      expect(long).toBe(`"include"[0] must be a string (got 1); ${EXPECTED}`);
      expect(describeConfigFrameProblem('{"include":[1,2,3,4,5,6,7,8]}')).toBe(
        `"include"[0] must be a string (got 1), "include"[1] must be a string (got 2), "include"[2] must be a string (got 3), "include"[3] must be a string (got 4), "include"[4] must be a string (got 5) and 3 more problems; ${EXPECTED}`,
      );
      const longKey = describeConfigFrameProblem(JSON.stringify({ ['k'.repeat(60_000)]: 'v'.repeat(60_000) }))!;
      expect(longKey.length).toBeLessThan(EXPECTED.length + 200);
      expect(longKey).toMatch(/^unexpected key "k{50,}\.\.\. \(value "v{50,}\.\.\.\);/);
    });
  });

  describe('parseClientTextFrame', () => {
    it('classifies config, close and invalid frames', () => {
      expect(parseClientTextFrame('{"include":[]}')).toEqual({ kind: 'config', frame: { include: [] } });
      expect(parseClientTextFrame('{"type":"session.close"}')).toEqual({ kind: 'close' });
      expect(parseClientTextFrame('{"type":"session.close","now":true}')).toEqual({
        kind: 'invalid',
        problem: 'unexpected key "now" (value true); a session close frame is exactly {"type":"session.close"}',
      });
      expect(parseClientTextFrame('{"type":"session.configure"}')).toEqual({ kind: 'invalid', problem: `unexpected key "type" (value "session.configure"); ${EXPECTED}` });
      expect(parseClientTextFrame('nope')).toMatchObject({ kind: 'invalid', problem: expect.stringContaining('not valid JSON') });
    });
  });
});

describe('other validators', () => {
  it('every HTTP error body the error table builds is valid', () => {
    for (const code of ERROR_CODES) expect(validateHttpError(httpErrorBody(code, CORRELATION_ID))).toEqual({ ok: true });
    expect(errorsOf(validateHttpError({ ...httpErrorBody('ih2005', 'not-a-uuid'), extra: 1 }))).toEqual([
      { path: '/extra', message: 'unexpected key "extra"' },
      { path: '/correlation_id', message: 'must be a valid uuid (got "not-a-uuid")' },
    ]);
  });

  it('scenario objects: schema only (semantic checks live in scenarios/loader.ts)', () => {
    expect(validateScenarioObject({ name: 'x', signals: [{ type: 'interest', start: 5, end: 1, probability: 'low' }] }).ok).toBe(true);
    expect(errorsOf(validateScenarioObject({ name: 'x', signals: [{ type: 'interest', start: 0, probability: 'hgh' }] }))).toEqual([
      { path: '/signals/0/end', message: 'is required' },
      { path: '/signals/0/probability', message: 'must be one of low, medium, high (got "hgh")' },
    ]);
  });
});

describe('token-exchange bodies', () => {
  it('validateAuthRequest accepts the documented body and names what is wrong otherwise', () => {
    expect(validateAuthRequest({ key_id: 'k', key_secret: 's', scopes: ['interhumanai.upload'] })).toEqual({ ok: true });
    expect(validateAuthRequest({ key_id: 'k', key_secret: 's' })).toEqual({ ok: true });
    expect(errorsOf(validateAuthRequest({ key_secret: 's', scopes: [], extra: 1 })).map((d) => d.path).sort()).toEqual(['/extra', '/key_id', '/scopes']);
  });

  it('authRequestProblems keeps the failed keyword and the expected type', () => {
    expect(authRequestProblems({ key_id: 5, key_secret: 's', scopes: ['nope'] })).toEqual([
      expect.objectContaining({ path: '/key_id', keyword: 'type', expectedType: 'string' }),
      expect.objectContaining({ path: '/scopes/0', keyword: 'enum' }),
    ]);
    expect(authRequestProblems({ key_id: 'k', key_secret: 's' })).toEqual([]);
  });

  it('validateAuthResponse and validateHttpValidationError check the answers', () => {
    expect(validateAuthResponse({ access_token: 'ihtok_x', token_type: 'Bearer', expires_in: 900, scope: 'interhumanai.upload' })).toEqual({ ok: true });
    expect(errorsOf(validateAuthResponse({ access_token: 'x', token_type: 'bearer', expires_in: 0, scope: '' })).map((d) => d.path)).toEqual(['/token_type', '/expires_in']);
    expect(validateHttpValidationError({ detail: [{ type: 'missing', loc: ['body', 'key_id'], msg: 'Field required' }] })).toEqual({ ok: true });
    expect(validateHttpValidationError({ detail: [] }).ok).toBe(false);
    expect(validateHttpValidationError({ ...httpErrorBody('ih2005', CORRELATION_ID) }).ok).toBe(false);
  });
});

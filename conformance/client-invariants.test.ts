/**
 * The stream client invariants as pure functions over hand-built runs: each rule's edges (a
 * reconnect after a final close and after a drop, a refused credential and where it was, a close
 * without session.close and one before session.ended, an error surfaced without its segment). The
 * same rules over real clients and sockets: test/integration/conformance*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CLIENT_INVARIANTS, parseObservations, type ClientRun, type Observation } from './client-invariants.js';
import type { RefusedUpgrade, Trace, TraceFrame } from './trace.js';

type Frame = TraceFrame extends infer F ? (F extends TraceFrame ? Omit<F, 'index'> : never) : never;

const event = (t: number, type: string, data: Record<string, unknown> = {}): Frame => ({ t, from: 'server', kind: 'text', text: JSON.stringify({ type, data }), event: { type, data } });
const text = (t: number, value: unknown): Frame => ({ t, from: 'client', kind: 'text', text: JSON.stringify(value) });
const segment = (t: number): Frame => ({ t, from: 'client', kind: 'binary', bytes: 50_000, mediaSeconds: 3 });
const close = (t: number, from: 'client' | 'server', code: number): Frame => ({ t, from, kind: 'close', code, reason: '' });
const READY = event(10, 'session.ready', { max_segment_size_bytes: 33_554_432 });
const CLOSE = { type: 'session.close' };

/** A session opened at `openedAt` (ms since the case began) with these frames. */
function session(frames: Frame[], openedAt = 0): ClientRun['sessions'][number] {
  const trace: Trace = { source: 'test', upgradeCorrelationId: null, started: openedAt, frames: frames.map((f, index) => ({ ...f, index }) as TraceFrame) };
  const end = trace.frames.find((f) => f.kind === 'close');
  return { trace, openedAt, closedAt: end ? openedAt + end.t : null };
}

/** A whole graceful session: ready, one segment, session.close, closing, ended, the server's 1000. */
const graceful = (openedAt = 0) => session([READY, segment(20), text(30, CLOSE), event(40, 'session.closing', { max_drain_seconds: 30 }), event(200, 'session.ended', { reason: 'client_shutdown' }), close(210, 'server', 1000)], openedAt);

const refused = (at: number, overrides: Partial<RefusedUpgrade> = {}): RefusedUpgrade => ({ source: 'test', at, status: 401, code: 'ih2001', authorization: 'Bearer [redacted]', subprotocol: false, query: '', ...overrides });

function run(parts: Partial<ClientRun>): ClientRun {
  return { sessions: [], refusedUpgrades: [], uploads: [], mediaBytes: null, observations: null, exitCode: 0, scriptedErrors: new Set(), ...parts };
}

/** `invariant: message` for every violation of the given invariants (all when none given). */
function violations(r: ClientRun, ...ids: string[]): string[] {
  return CLIENT_INVARIANTS.filter((inv) => ids.length === 0 || ids.includes(inv.id)).flatMap((inv) => inv.check(r).map((v) => `${v.invariant}: ${v.message}`));
}

describe('client.no-reconnect-after-final', () => {
  const id = 'client.no-reconnect-after-final';

  it('one graceful session: nothing to report', () => {
    expect(violations(run({ sessions: [graceful()] }))).toEqual([]);
  });

  it('a new session after session.ended, however polite the backoff', () => {
    expect(violations(run({ sessions: [graceful(0), graceful(5210)] }), id)).toEqual([`${id}: connection 2 opened 5000 ms after connection 1 ended for good (session.ended)`]);
  });

  it('after ih2003 (4003), ih3003 (4029), and a 401 on the upgrade', () => {
    const scope = session([event(5, 'error', { code: 'ih2003', segment: null }), close(10, 'server', 4003)]);
    const quota = session([READY, event(20, 'error', { code: 'ih3003', segment: null }), close(30, 'server', 4029)]);
    expect(violations(run({ sessions: [scope, graceful(3000)] }), id)).toEqual([`${id}: connection 2 opened 2990 ms after connection 1 ended for good (error ih2003, the credential lacks the stream scope)`]);
    expect(violations(run({ sessions: [quota, graceful(3000)] }), id)).toEqual([`${id}: connection 2 opened 2970 ms after connection 1 ended for good (error ih3003, the usage quota is exhausted)`]);
    // A close code alone says it too (a server that closed 4029 without the error envelope).
    expect(violations(run({ sessions: [session([READY, close(30, 'server', 4029)]), graceful(3000)] }), id)).toHaveLength(1);
    expect(violations(run({ refusedUpgrades: [refused(0), refused(2000), refused(4000)], scriptedErrors: new Set(['ih2001']) }), id)).toEqual([
      `${id}: connection 2 opened 2000 ms after connection 1 ended for good (the upgrade was refused with 401 ih2001)`,
      `${id}: connection 3 opened 4000 ms after connection 1 ended for good (the upgrade was refused with 401 ih2001)`,
    ]);
  });

  it('a reconnect after a drop (1006) or an internal error (1011) with backoff is fine', () => {
    const dropped = session([READY, segment(20), close(500, 'server', 1006)]);
    const internal = session([READY, event(20, 'error', { code: 'ih1001', segment: null }), close(25, 'server', 1011)]);
    expect(violations(run({ sessions: [dropped, graceful(2000)] }))).toEqual([]);
    expect(violations(run({ sessions: [internal, graceful(2000)] }))).toEqual([]);
  });
});

describe('client.no-hammering counts refused upgrades as connections', () => {
  it('a refused upgrade retried 200 ms later, and a fifth attempt', () => {
    const attempts = [0, 200, 1300, 2400, 3500].map((at) => refused(at));
    expect(violations(run({ refusedUpgrades: attempts, scriptedErrors: new Set(['ih2001']) }), 'client.no-hammering')).toEqual([
      'client.no-hammering: reconnected 200 ms after connection 1 closed',
      'client.no-hammering: connection 5 in one case (more than 3 reconnects)',
    ]);
  });
});

describe('client.authenticates', () => {
  const id = 'client.authenticates';

  it('names what was wrong with the credential: no Bearer scheme, none at all, a key in the query string', () => {
    expect(violations(run({ refusedUpgrades: [refused(0, { authorization: '[redacted]' })] }), id)).toEqual([`${id}: upgrade 1 was refused with 401 ih2001: the Authorization header is "[redacted]", not "Bearer <key>"`]);
    expect(violations(run({ refusedUpgrades: [refused(0, { code: 'ih2002', authorization: null, query: 'api_key=%5Bredacted%5D' })] }), id)).toEqual([
      `${id}: upgrade 1 was refused with 401 ih2002: no credential: neither an Authorization header nor a WebSocket subprotocol (the query parameter api_key is not read)`,
    ]);
    const upload = { source: 'test', number: 1, at: 0, method: 'POST', contentType: 'multipart/form-data; boundary=x', authorization: 'Token [redacted]', query: '', body: null, answer: { kind: 'answered' as const, at: 10, status: 401, code: 'ih2001', retryAfterSeconds: null, json: { error_id: 'ih2001' }, correlationId: null, contentType: null } };
    expect(violations(run({ uploads: [upload] }), id)).toEqual([`${id}: upload 1 was refused with 401 ih2001: the Authorization header is "Token [redacted]", not "Bearer <key>"`]);
  });

  it('a key the case revoked on purpose is not the client\'s doing; a subprotocol credential is a credential', () => {
    expect(violations(run({ refusedUpgrades: [refused(0)], scriptedErrors: new Set(['ih2001']) }), id)).toEqual([]);
    expect(violations(run({ refusedUpgrades: [refused(0, { authorization: null, subprotocol: true })] }), id)).toEqual([`${id}: upgrade 1 was refused with 401 ih2001: the credential was refused: send IH_API_KEY as it is`]);
  });
});

describe('client.close-requested', () => {
  const id = 'client.close-requested';

  it('the socket closed right after the last segment, without session.close', () => {
    expect(violations(run({ sessions: [session([READY, segment(20), close(25, 'client', 1000)])] }), id)).toEqual([
      `${id}: the client closed the connection (1000) without sending {"type":"session.close"}: the analysis still in flight was cancelled`,
    ]);
  });

  it('session.close, then the socket closed before session.ended (a silence timeout): a violation until max_drain_seconds have passed', () => {
    const early = session([READY, segment(20), text(30, CLOSE), event(40, 'session.closing', { max_drain_seconds: 30 }), close(4030, 'client', 1000)]);
    expect(violations(run({ sessions: [early] }), id)).toEqual([`${id}: the client closed the connection (1000) 4000 ms after session.close (frame 2), before session.ended (the drain may take 30 s): the trailing analysis was lost`]);
    const patient = session([READY, segment(20), text(30, CLOSE), event(40, 'session.closing', { max_drain_seconds: 30 }), close(31_100, 'client', 1000)]);
    expect(violations(run({ sessions: [patient] }), id)).toEqual([]);
  });

  it('a session the server ended (graceful, an error close, a drop) or closed after session.ended is fine', () => {
    const clientClosesAfterEnded = session([READY, segment(20), text(30, CLOSE), event(100, 'session.ended', { reason: 'client_shutdown' }), close(101, 'client', 1000)]);
    const serverError = session([READY, segment(20), event(30, 'error', { code: 'ih1001', segment: null }), close(31, 'server', 1011)]);
    expect(violations(run({ sessions: [graceful(), clientClosesAfterEnded, serverError] }), id)).toEqual([]);
  });
});

describe('client.errors-surfaced checks the segment', () => {
  const id = 'client.errors-surfaced';
  const withError = session([READY, segment(20), segment(30), event(35, 'error', { code: 'ih5004', segment: 2 }), event(40, 'error', { code: 'ih1001', segment: null }), close(41, 'server', 1011)]);
  const observed = (...errors: Observation[]) => run({ sessions: [withError], observations: [...errors, { kind: 'spans', spans: [] }] });

  it('the code and the segment (and, for a connection-wide error, no segment or null)', () => {
    expect(violations(observed({ kind: 'error', code: 'ih5004', segment: 2 }, { kind: 'error', code: 'ih1001' }), id)).toEqual([]);
    expect(violations(observed({ kind: 'error', code: 'ih5004', segment: 2 }, { kind: 'error', code: 'ih1001', segment: null }), id)).toEqual([]);
  });

  it('without its segment, with another segment, or not at all', () => {
    expect(violations(observed({ kind: 'error', code: 'ih5004' }, { kind: 'error', code: 'ih1001' }), id)).toEqual([`${id}: error ih5004 for segment 2 was surfaced without its segment`]);
    expect(violations(observed({ kind: 'error', code: 'ih5004', segment: 1 }, { kind: 'error', code: 'ih1001' }), id)).toEqual([`${id}: error ih5004 for segment 2 was surfaced with segment 1`]);
    expect(violations(observed({ kind: 'error', code: 'ih5004', segment: 2 }, { kind: 'error', code: 'ih1001', segment: 2 }), id)).toEqual([`${id}: error ih1001 (no segment) was surfaced with segment 2`]);
    expect(violations(observed({ kind: 'error', code: 'ih1001' }), id)).toEqual([`${id}: error ih5004 for segment 2 was not surfaced`]);
  });

  it('an observation line whose segment is not a whole number is not a valid observation', () => {
    expect(parseObservations('{"kind":"error","code":"ih5004","segment":2}\n{"kind":"error","code":"ih5004","segment":"2"}\n')).toEqual([
      { kind: 'error', code: 'ih5004', segment: 2 },
      { kind: 'invalid', line: 2, text: '{"kind":"error","code":"ih5004","segment":"2"}' },
    ]);
  });
});

describe('client.no-idle-timeout', () => {
  it('an ih6003 the case scripts is not the client\'s idleness', () => {
    const timedOut = session([READY, event(2000, 'error', { code: 'ih6003', segment: null }), close(2001, 'server', 1011)]);
    expect(violations(run({ sessions: [timedOut] }), 'client.no-idle-timeout')).toEqual(['client.no-idle-timeout: the session timed out idle']);
    expect(violations(run({ sessions: [timedOut], scriptedErrors: new Set(['ih6003']) }), 'client.no-idle-timeout')).toEqual([]);
  });
});

describe('the client invariants', () => {
  it('have stable, distinct ids, each with a statement', () => {
    const ids = CLIENT_INVARIANTS.map((i) => i.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const inv of CLIENT_INVARIANTS) expect(inv.statement.length).toBeGreaterThan(20);
  });
});

/**
 * The admin API as typed methods: in-process (`server.admin`, on a virtual clock) and remote
 * (`connectAdmin(url)`, over HTTP), the same `AdminApi` with the same answers and errors.
 */
import { describe, expect, it } from 'vitest';
import { AdminError, connectAdmin, createMockServer, VirtualClock } from '../../server/index.js';
import { connect } from '../support/client.js';
import { readMedia } from '../support/media.js';
import { closeOnClock, openClient, streamPaced } from '../support/session.js';
import { startServer, useServers } from '../support/server.js';

useServers();

const rejection = async (p: Promise<unknown>): Promise<AdminError> => {
  try {
    await p;
  } catch (err) {
    if (err instanceof AdminError) return err;
    throw err;
  }
  throw new Error('expected an AdminError');
};

describe('server.admin (in-process)', () => {
  it('waits for an event still to come, arms a timed fault on the virtual clock, and replays a session exactly with a default seed', { timeout: 60_000 }, async () => {
    const segment = await readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 });
    const clock = new VirtualClock();
    const server = await startServer({ scenario: 'steady', clock, processingJitter: 0 });
    const { admin } = server;

    // The wait starts before the event exists, and resolves when it is sent.
    const { client, session } = await openClient(server);
    const detected = admin.waitFor({ type: 'signal.detected', signalType: 'agreement', timeoutMs: 20_000 });
    await streamPaced(client, session, clock, [segment, segment, segment], 4000);
    await clock.advance(5000);
    const { entry } = await detected;
    expect(entry).toMatchObject({ session: session.correlationId, direction: 'out', media_time: 0 });
    expect(client.ofType('signal.detected')[0]).toEqual(entry.event);

    // wall_seconds counts from the injection, on the server's clock.
    expect(await admin.inject(session.correlationId, { when: { wall_seconds: 30 }, action: 'close', close_code: 4000, reason: 'timed' })).toEqual({ session: session.correlationId, applied: 0, armed: 1, state: 'open' });
    await clock.advance(29_000);
    expect(session.state).toBe('open');
    await clock.advance(1_000);
    expect(await client.closed).toEqual({ code: 4000, reason: 'timed' });
    const [summary] = await admin.sessions({ state: 'ended' });
    expect(summary).toMatchObject({ id: session.correlationId, end_reason: 'scripted_fault', faults_injected: 1 });

    // A default seed makes every new session the same; the URL's own choice still wins.
    expect(await admin.setDefaults({ seed: 99, timing: 'instant' })).toEqual({ test_id: null, scenario: null, seed: 99, timing: 'instant' });
    const runs: string[][] = [];
    for (let i = 0; i < 2; i++) {
      const run = await openClient(server);
      expect((await admin.session(run.session.correlationId)).session).toMatchObject({ seed: 99, timing: { mode: 'instant' } });
      await streamPaced(run.client, run.session, clock, [segment, segment, segment], 4000);
      await closeOnClock(run.client, clock);
      runs.push(run.client.frames.map((f) => JSON.stringify({ ...f, timestamp: undefined, correlation_id: undefined })));
    }
    expect(runs[1]).toEqual(runs[0]);
    const chosen = await openClient(server, '?seed=5&timing=realistic');
    expect((await admin.session(chosen.session.correlationId)).session).toMatchObject({ seed: 5, timing: { mode: 'ratio' } }); // realistic is the old name of ratio

    // Bad input: the same AdminError (code and message) the HTTP route answers.
    const bad = await rejection(admin.inject(chosen.session.correlationId, { action: 'throttle' }));
    expect([bad.code, bad.status, bad.message]).toEqual(['ihm4001', 400, 'invalid faults (1 problem):\n/faults/0: action throttle requires "bytes_per_second"']);
    expect((await rejection(admin.session('nope'))).code).toBe('ihm4004');
    expect((await rejection(admin.waitFor({ type: 'never', timeoutMs: 0 }))).code).toBe('ihm4008');
    expect((await rejection(admin.sessions({ testId: '' }))).code).toBe('ihm4001');
    expect(await admin.metrics()).toMatch(/^ih_mock_sessions_total\{scenario="steady"\} 4$/m);
    expect(await admin.reset()).toMatchObject({ test_id: null, ended_sessions: 3, defaults: true });
  });
});

describe('server.close()', () => {
  it('ends the waits in progress (ihm4008) instead of leaving them to their timeout', async () => {
    const server = await createMockServer({ logLevel: 'silent' });
    const pending = rejection(server.admin.waitFor({ type: 'never.happens', timeoutMs: 300_000 }));
    await server.close();
    expect((await pending).message).toBe('The server closed before anything matched the wait.');
  });
});

describe('connectAdmin (over HTTP)', () => {
  it('offers the same methods and answers as server.admin, with the test id and token sent as headers', async () => {
    const server = await startServer({ scenario: 'steady', timing: 'instant' });
    const remote = connectAdmin(server.baseUrl, { testId: 'remote-suite' });
    const scoped = await connect(`${server.streamUrl}?test_id=remote-suite`);
    await scoped.waitForType('session.ready');
    const other = await connect(server.streamUrl);
    await other.waitForType('session.ready');

    expect(await remote.sessions()).toEqual(await server.admin.sessions({ testId: 'remote-suite' }));
    expect((await remote.sessions()).map((s) => s.test_id)).toEqual(['remote-suite']);
    expect((await remote.sessions({ testId: null })).length).toBe(2); // null: the whole server, not the client's scope
    const id = scoped.frames[0]!.correlation_id;
    expect(await remote.session(id)).toEqual(await server.admin.session(id));
    const { entry, next } = await remote.waitFor({ type: 'session.ready' });
    expect(entry.session).toBe(id);
    expect(await remote.journal({ since: 0, type: 'session.ready' })).toEqual(await server.admin.journal({ since: 0, type: 'session.ready', testId: 'remote-suite' }));

    await remote.queueFaults({ target: 'uploads', faults: { action: 'disconnect' }, count: 2 });
    expect(await remote.queue()).toEqual({ test_id: 'remote-suite', sessions: [], uploads: [{ faults: [{ action: 'disconnect' }], remaining: 2 }] });
    expect(await remote.clearQueue()).toEqual({ test_id: 'remote-suite', sessions: [], uploads: [] });
    expect(await remote.setDefaults({ scenario: 'quiet' })).toEqual({ test_id: 'remote-suite', scenario: 'quiet', seed: null, timing: null });

    // A followed journal gets what happens next.
    const stop = new AbortController();
    const followed: string[] = [];
    const following = remote.follow({ since: next, direction: 'out' }, (e) => {
      followed.push(e.type);
      if (e.type === 'error') stop.abort();
    }, stop.signal);
    expect(await remote.inject(id, [{ action: 'unknown_event', event_type: 'test.followed' }, { action: 'error', code: 'ih5001' }])).toMatchObject({ applied: 2, state: 'open' });
    await following;
    expect(followed).toEqual(['test.followed', 'error']);

    const error = await rejection(remote.inject(other.frames[0]!.correlation_id, { action: 'disconnect' }));
    expect([error.code, error.status]).toEqual(['ihm4004', 404]); // another scope's session
    expect((await rejection(remote.inject(id, { action: 'eror' } as never))).message).toMatch(/^invalid faults \(1 problem\):\n\/faults\/0\/action: must be one of error, close/);
    expect(await remote.metrics()).toContain('ih_mock_sessions_open{scenario="steady"} 2');
    expect(await remote.reset()).toMatchObject({ test_id: 'remote-suite', defaults: true });
    expect(other.types()).toEqual(['session.ready']);
  });
});

/** Handshake, auth, session.ready and config frames over real sockets (docs/protocol.md §1, §3.1–3.3). */
import { describe, expect, it } from 'vitest';
import { connect, connectRefused } from '../support/client.js';
import { startServer, useServers } from '../support/server.js';

useServers();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('authentication on the upgrade', () => {
  it('accepts Authorization: Bearer and sends session.ready first, once', async () => {
    const server = await startServer();
    const client = await connect(server.streamUrl, { headers: { Authorization: 'Bearer ih_live_abc' } });
    await client.waitForType('session.ready');
    client.sendJson({ include: [] });
    await client.waitForType('session.updated');
    expect(client.types()).toEqual(['session.ready', 'session.updated']);
  });

  it('accepts a single Sec-WebSocket-Protocol credential and echoes it (browser codealong)', async () => {
    const server = await startServer();
    const client = await connect(server.streamUrl, { protocols: 'ih_live_browser_key' });
    expect(client.ws.protocol).toBe('ih_live_browser_key');
    await client.waitForType('session.ready');
  });

  it('accepts the access_token, <credential> pair and echoes access_token', async () => {
    const server = await startServer({ apiKeys: ['tok_123'] });
    const client = await connect(server.streamUrl, { protocols: ['access_token', 'tok_123'] });
    expect(client.ws.protocol).toBe('access_token');
    await client.waitForType('session.ready');
  });

  it('refuses a missing credential with HTTP 401 ih2002, no envelope', async () => {
    const server = await startServer();
    const refused = await connectRefused(server.streamUrl, { apiKey: null });
    expect(refused.status).toBe(401);
    expect(refused.headers['x-correlation-id']).toMatch(UUID);
    expect(refused.body).toMatchObject({ error_id: 'ih2002', correlation_id: refused.headers['x-correlation-id'] });
    expect(refused.body.link).toMatch(/#ih2002-/);
  });

  it('refuses an unknown key with 401 ih2001 when keys are configured, and a header without Bearer always', async () => {
    const server = await startServer({ apiKeys: ['ih_live_good'] });
    expect((await connectRefused(server.streamUrl, { apiKey: 'ih_live_bad' })).body.error_id).toBe('ih2001');
    expect((await connectRefused(server.streamUrl, { protocols: 'ih_live_bad' })).status).toBe(401);
    const open = await startServer();
    expect((await connectRefused(open.streamUrl, { headers: { Authorization: 'ih_live_good' } })).body.error_id).toBe('ih2001');
    const ok = await connect(server.streamUrl, { apiKey: 'ih_live_good' });
    await ok.waitForType('session.ready');
  });

  it('answers 404 on other WebSocket paths and keeps serving', async () => {
    const server = await startServer();
    const refused = await connectRefused(server.streamUrl.replace('/v1/stream/analyze', '/v0/nope'));
    expect(refused.status).toBe(404);
    const client = await connect(server.streamUrl);
    await client.waitForType('session.ready');
  });
});

describe('quota', () => {
  it('a quota_exhausted scenario: session.ready, then error ih3003 and close 4029', async () => {
    const server = await startServer({ scenario: { name: 'no-quota', quota_exhausted: true } });
    const client = await connect(server.streamUrl);
    const closed = await client.closed;
    expect(closed.code).toBe(4029);
    expect(client.types()).toEqual(['session.ready', 'error']);
    expect(client.frames[1]!.data).toMatchObject({ code: 'ih3003', segment: null });
    expect(server.sessions.size).toBe(0);
  });
});

describe('correlation and session.ready', () => {
  it('puts X-Correlation-ID on the upgrade and the same id in every envelope', async () => {
    const server = await startServer();
    const client = await connect(server.streamUrl);
    const header = client.upgrade?.headers['x-correlation-id'];
    expect(header).toMatch(UUID);
    client.sendJson({ include: ['conversation_quality_overall'] });
    client.sendText('not json');
    await client.waitForType('error');
    expect(client.frames.length).toBe(3);
    for (const f of client.frames) expect(f.correlation_id).toBe(header);
    const other = await connect(server.streamUrl);
    await other.waitForType('session.ready');
    expect(other.frames[0]!.correlation_id).not.toBe(header);
  });

  it('draws correlation ids from the seed: same seed, same ids (HTTP traffic does not shift them); no seed, fresh ids', async () => {
    const firstId = async (seed: number | undefined, pollHealth: boolean) => {
      const server = await startServer(seed === undefined ? {} : { seed });
      if (pollHealth) await fetch(`${server.baseUrl}/health`);
      const client = await connect(server.streamUrl);
      return (await client.waitForType('session.ready')).correlation_id;
    };
    expect(await firstId(42, true)).toBe(await firstId(42, false));
    expect(await firstId(42, false)).not.toBe(await firstId(43, false));
    expect(await firstId(undefined, false)).not.toBe(await firstId(undefined, false));
  });

  it('stamps envelopes with 6 fractional digits, and session.ready carries the configured limits', async () => {
    const server = await startServer({ idleTimeoutSeconds: 120, maxDurationSeconds: 900, maxSegmentBytes: 1_000_000 });
    const client = await connect(server.streamUrl);
    const ready = await client.waitForType('session.ready');
    expect(ready.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(ready.data).toEqual({
      session_idle_timeout_seconds: 120,
      session_max_duration_seconds: 900,
      max_segment_duration_seconds: null,
      min_segment_duration_seconds: 3,
      min_segment_size_bytes: 1,
      max_segment_size_bytes: 1_000_000,
      supported_session_config_options: { include: ['conversation_quality_overall', 'conversation_quality_timeline'], goal_dimensions: null },
    });
  });
});

describe('session config frames', () => {
  it('answers each config frame, even one sent before session.ready was read, with session.updated in order', async () => {
    const server = await startServer();
    const client = await connect(server.streamUrl);
    // Sent immediately on open, as the browser codealong does.
    client.sendJson({ include: ['conversation_quality_overall', 'conversation_quality_timeline'] });
    client.sendJson({ include: ['conversation_quality_timeline', 'feedback', 'conversation_quality'] });
    client.sendJson({});
    await client.waitForType('session.updated', 3);
    expect(client.types()).toEqual(['session.ready', 'session.updated', 'session.updated', 'session.updated']);
    const updates = client.ofType('session.updated').map((f) => f.data);
    expect(updates).toEqual([
      { include: ['conversation_quality_overall', 'conversation_quality_timeline'], goal_dimensions: null },
      { include: ['conversation_quality_timeline'], goal_dimensions: null },
      { include: [], goal_dimensions: null },
    ]);
  });

  it('echoes goal_dimensions', async () => {
    const server = await startServer();
    const client = await connect(server.streamUrl);
    client.sendJson({ include: [], goal_dimensions: ['rapport'] });
    expect((await client.waitForType('session.updated')).data).toEqual({ include: [], goal_dimensions: ['rapport'] });
  });

  it.each([
    ["the launch post's session.configure", JSON.stringify({ type: 'session.configure', include: ['conversation_quality', 'feedback'] }), /unexpected key "type".*session\.configure/],
    ['not JSON', '{include: [conversation_quality_overall]}', /not valid JSON/i],
    ['an array', '["conversation_quality_overall"]', /object/],
    ['include as a string', JSON.stringify({ include: 'conversation_quality_overall' }), /include/],
    ['goal_dimensions as a number', JSON.stringify({ goal_dimensions: 3 }), /goal_dimensions/],
  ])('answers %s with ih6001 saying what shape is expected, and stays open', async (_name, text, problem) => {
    const server = await startServer();
    const client = await connect(server.streamUrl);
    client.sendText(text);
    const error = await client.waitForType('error');
    expect(error.data.code).toBe('ih6001');
    expect(error.data.segment).toBeNull();
    expect(error.data.message).toMatch(problem);
    expect(error.data.message).toMatch(/"include"/); // says what a valid frame looks like
    expect(error.data.link).toBe('https://docs.interhuman.ai/api-reference/error-handling#ih6001-invalid-session-config');
    client.sendJson({ include: ['conversation_quality_overall'] });
    expect((await client.waitForType('session.updated')).data.include).toEqual(['conversation_quality_overall']);
  });
});

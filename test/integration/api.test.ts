/** The programmatic API as a user imports it (the package's own name through its exports map), and its logs. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { connect, connectRefused } from '../support/client.js';
import { useServers } from '../support/server.js';

useServers();

describe('programmatic API', () => {
  it('is importable as "ih-mock" (built entry) and runs a session on port 0 with a virtual clock and a scenario object', async () => {
    const api = await import('ih-mock');
    const clock = new api.VirtualClock();
    const server = await api.createMockServer({
      logLevel: 'silent',
      clock,
      processingRatio: 0.5,
      scenario: { name: 'inline', signals: [{ type: 'interest', start: 0, end: 30, probability: 'medium' }] },
    });
    try {
      expect(server.streamUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/v1\/stream\/analyze$/);
      expect(server.urls().baseUrl).toBe(server.baseUrl);
      const health = await fetch(`${server.baseUrl}/health`);
      expect(await health.json()).toEqual({ status: 'ok', sessions: 0 });
      const client = await connect(server.streamUrl);
      await client.waitForType('session.ready');
      expect(server.sessions.size).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('rejects bad options with a message naming the option', async () => {
    const api = await import('ih-mock');
    expect(() => api.buildServer({ port: -1 })).toThrow(/port/);
    expect(() => api.buildServer({ idleTimeoutSeconds: 0 } as never)).toThrow(/idleTimeoutSeconds/);
    expect(() => api.buildServer({ bogus: 1 } as never)).toThrow(/unknown option "bogus"/);
    expect(() => api.buildServer({ scenario: { name: 'x', signals: [{ type: 'joy', start: 0, end: 1, probability: 'high' }] } as never })).toThrow(/signals\/0\/type/);
  });
});

describe('logs', () => {
  it('never contain credentials, whichever way they were sent', async () => {
    const api = await import('../../server/index.js');
    let logs = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logs += chunk.toString();
        cb();
      },
    });
    const server = await api.createMockServer({ logLevel: 'trace', logDestination: sink, apiKeys: ['ih_live_SECRET_header', 'ih_live_SECRET_proto', 'ih_live_SECRET_pair'] });
    try {
      for (const opts of [{ apiKey: 'ih_live_SECRET_header' }, { protocols: 'ih_live_SECRET_proto' }, { protocols: ['access_token', 'ih_live_SECRET_pair'] }]) {
        const client = await connect(server.streamUrl, opts);
        await client.waitForType('session.ready');
        client.sendText('nonsense');
        await client.waitForType('error');
        client.ws.close();
        await client.closed;
      }
      await connectRefused(server.streamUrl, { apiKey: 'ih_live_SECRET_wrong' });
      await fetch(`${server.baseUrl}/health`, { headers: { Authorization: 'Bearer ih_live_SECRET_http' } });
    } finally {
      await server.close();
    }
    expect(logs).toContain('stream session opened');
    expect(logs).toContain('stream upgrade refused');
    expect(logs).not.toContain('SECRET');
  });
});

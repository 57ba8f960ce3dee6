/** The programmatic API as a user imports it (the package's own name through its exports map), and its logs. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { connect, connectRefused } from '../support/client.js';
import { readMedia } from '../support/media.js';
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

describe('programmatic API: scenarios', () => {
  it('exports the generator and its arbitraries from the built package', async () => {
    const api = await import('ih-mock');
    const fc = (await import('fast-check')).default;
    expect(api.generateScenario(42)).toEqual(api.generateScenario(42));
    expect(api.parseScenario(api.scenarioToYaml(api.generateScenario(42)), 'x.yaml')).toEqual(api.scenarioFromObject(api.generateScenario(42)));
    fc.assert(
      fc.property(api.scenarioArbitrary({ maxDuration: 60, faults: true, load: true }), (scenario) => api.validateScenario(scenario).ok),
      { numRuns: 50, seed: 1 },
    );
    expect(api.TIMING_MODES).toEqual(['live', 'ratio', 'instant']);
  });
});

describe('programmatic API: the conformance kit', () => {
  it('is importable as "ih-mock/conformance" and runs a case with a client function', async () => {
    const kit = await import('ih-mock/conformance');
    expect(kit.CASES.length).toBeGreaterThanOrEqual(15);
    const result = await kit.runCase(kit.selectCases(['1.3'])[0]!, {
      client: {
        run: async (env) => {
          const ws = new (await import('ws')).default(env.IH_STREAM_URL, { headers: { authorization: `Bearer ${env.IH_API_KEY}` } });
          await new Promise((resolve) => ws.on('close', resolve));
          return 0;
        },
      },
    });
    expect(result.verdict).toBe('OK');
    expect(result.traces[0]!.frames.map((f) => (f.kind === 'text' && f.from === 'server' ? f.event?.type : f.kind))).toEqual(['session.ready', 'error', 'close']);
  }, 30_000);
});

describe('logs', () => {
  it('at session end: received, analyzed and dropped seconds, in the log line and from onSessionEnded', async () => {
    const api = await import('../../server/index.js');
    const media = await readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 10 });
    let logs = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logs += chunk.toString();
        cb();
      },
    });
    const ended: unknown[] = [];
    const scenario = { name: 'shed', processing: { timing: 'instant' as const }, load: [{ start: 30, end: 45, shed: 'all' as const }] };
    const server = await api.createMockServer({ logLevel: 'info', logDestination: sink, scenario, onSessionEnded: (s) => ended.push({ ...s.stats }) });
    try {
      const client = await connect(server.streamUrl);
      await client.waitForType('session.ready');
      for (let i = 0; i < 6; i++) await client.sendBinary(media);
      expect((await client.closeGracefully()).code).toBe(1000);
    } finally {
      await server.close();
    }
    const counters = { receivedSeconds: 60, analyzedSeconds: 50, droppedSeconds: 10, windowsShed: 5 };
    expect(ended).toEqual([expect.objectContaining(counters)]);
    const line = logs.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === 'stream session ended');
    expect(line).toMatchObject({ ...counters, reason: 'client_shutdown', unanalyzedSeconds: 0, timing: 'instant' });
  });

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

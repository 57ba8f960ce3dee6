/**
 * Scoping by test through the vitest helper (`ih-mock/vitest`, docs/vitest.md), used the way a
 * project's own test file uses it: one emulator for the file, a test id per test, faults queued and
 * injected for the current test only, waits on its own journal, and a clean scope for the next test.
 * Real sockets, real uploads of real media.
 */
import { describe, expect, it } from 'vitest';
import { useIhMock } from '../../server/testing/vitest.js';
import { connect } from '../support/client.js';
import { readMedia } from '../support/media.js';
import { useServers } from '../support/server.js';
import { upload } from '../support/upload.js';

const ih = useIhMock({ scenario: 'steady', timing: 'instant', processingRatio: 0, logLevel: 'silent' });
// Every frame the clients below receive is checked against the schemas after each test.
useServers();

/** What one test leaves for the next to check. */
const earlier: { testId?: string; session?: string } = {};

describe('useIhMock: a test id per test', () => {
  it('names this test; a session opened at ih.streamUrl belongs to it and gets the faults it queued, a session of no test does not', async () => {
    expect(ih.testId).toBe('1:useIhMock: a test id per test > names this test; a session opened at ih.streamUrl belongs to it and gets the faults it queued, a session of no test does not'.slice(0, 200));
    earlier.testId = ih.testId;
    await ih.queueFaults('sessions', { action: 'error', code: 'ih3003', close: true }, 2);
    const ours = await connect(ih.streamUrl);
    const error = await ours.waitForType('error');
    expect(error.data.code).toBe('ih3003');
    const unscoped = await connect(ih.server.streamUrl);
    await unscoped.waitForType('session.ready');
    // The wait sees this test's session only, already recorded.
    const entry = await ih.waitFor({ kind: 'frame', direction: 'out', type: 'error' });
    expect(entry).toMatchObject({ test_id: ih.testId, session: error.correlation_id, code: 'ih3003' });
    earlier.session = error.correlation_id;
    expect(unscoped.ofType('error')).toEqual([]);
    // One of the two queued sessions is left: the helper's cleanup must drop it.
    expect((await ih.admin.queue({ testId: ih.testId })).sessions).toHaveLength(1);
  });

  it('starts clean: the previous test\'s queued faults and journal are gone, and its sessions are not this test\'s', async () => {
    expect(ih.testId).toMatch(/^2:/);
    expect((await ih.admin.queue({ testId: earlier.testId! })).sessions).toEqual([]);
    // Its journal holds only the reset the helper did after it.
    expect((await ih.admin.journal({ testId: earlier.testId! })).entries.map((e) => [e.kind, e.type])).toEqual([['admin', 'reset']]);
    const client = await connect(ih.streamUrl);
    const ready = await client.waitForType('session.ready');
    expect((await ih.waitFor({ kind: 'session', type: 'session.opened' })).session).toBe(ready.correlation_id);
    expect(client.ofType('error')).toEqual([]);
    await expect(ih.inject(earlier.session!, { action: 'disconnect' })).rejects.toMatchObject({ code: 'ihm4004' });
  });

  it('inject: a fault into this test\'s live session at once; queued upload faults reach uploads sent with ih.headers only', async () => {
    const client = await connect(ih.streamUrl);
    const ready = await client.waitForType('session.ready');
    const result = await ih.inject(ready.correlation_id, { action: 'error', code: 'ih1001', close: true });
    expect(result).toMatchObject({ applied: 1, state: 'ended' });
    expect((await client.closed).code).toBe(1011);

    await ih.queueFaults('uploads', { action: 'error', code: 'ih3002' });
    const video = new Uint8Array(await readMedia({ container: 'webm', video: 'vp8', audio: null, seconds: 4 }));
    const unscoped = await upload(ih.baseUrl, video);
    const scoped = await upload(ih.baseUrl, video, { headers: ih.headers });
    expect([unscoped.status, scoped.status]).toEqual([200, 429]);
    expect(scoped.body).toMatchObject({ error_id: 'ih3002' });
    expect((await ih.journal({ kind: 'upload' })).entries.map((e) => e.code)).toEqual(['ih3002']);
  });
});

describe('useIhMock({ perTest: true })', () => {
  const fresh = useIhMock({ perTest: true, timing: 'instant', logLevel: 'silent' });
  const bases: string[] = [];

  it('gives the first test an emulator of its own', async () => {
    bases.push(fresh.baseUrl);
    expect(fresh.baseUrl).not.toBe(ih.baseUrl);
    expect((await fetch(`${fresh.baseUrl}/health`)).status).toBe(200);
  });

  it('and the next test another: the first one has stopped listening', async () => {
    expect(fresh.baseUrl).not.toBe(bases[0]);
    await expect(fetch(`${bases[0]}/health`)).rejects.toThrow(/fetch failed/);
    // The file-wide emulator keeps running alongside.
    expect((await fetch(`${ih.baseUrl}/health`)).status).toBe(200);
  });
});

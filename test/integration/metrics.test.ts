/**
 * GET /metrics (docs/control-plane.md#metrics), read with a strict parser of the Prometheus text
 * format written for the tests (test/support/prometheus.ts), and matched against what the sessions
 * counted and what the clients received: real sockets, real media, real uploads and token exchanges.
 */
import { describe, expect, it } from 'vitest';
import type { StreamSession } from '../../server/stream/session.js';
import { adminGet, waitEntry } from '../support/admin.js';
import { connect, type TestClient } from '../support/client.js';
import { readMedia } from '../support/media.js';
import { parsePrometheusText, valueOf, type Family } from '../support/prometheus.js';
import { startServer, useServers } from '../support/server.js';
import { untilReceived } from '../support/wait.js';

useServers();

async function scrape(baseUrl: string): Promise<Map<string, Family>> {
  const res = await fetch(`${baseUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

describe('GET /metrics', () => {
  it("matches the sessions' counters, the frames the clients received, and the uploads and token exchanges answered", { timeout: 60_000 }, async () => {
    const webm = await readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 });
    const mp4 = await readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 });
    const ended: StreamSession[] = [];
    let windowsEmitted = 0;
    const server = await startServer({
      scenario: 'steady',
      timing: 'instant',
      processingRatio: 0,
      keyPairs: [{ keyId: 'kid_metrics', keySecret: 'ks_metrics' }],
      onSessionEnded: (s) => ended.push(s),
      onWindowEmitted: () => windowsEmitted++,
    });
    const base = server.baseUrl;

    // One session streams 12 s (one segment unreadable) and closes gracefully; another stays open.
    const done = await connect(server.streamUrl);
    await done.waitForType('session.ready');
    done.sendJson({ include: ['conversation_quality_overall'] });
    for (const bytes of [webm, Buffer.from('not a video at all'), webm, webm]) await done.sendBinary(bytes);
    await done.waitForType('error');
    expect((await done.closeGracefully()).code).toBe(1000);
    const open = await connect(server.streamUrl);
    await open.waitForType('session.ready');
    await open.sendBinary(webm);
    await waitEntry(base, `session=${open.frames[0]!.correlation_id}&type=binary`);

    const form = (file: boolean) => {
      const f = new FormData();
      if (file) f.append('file', new Blob([mp4 as Uint8Array<ArrayBuffer>]), 'call.mp4');
      else f.append('note', 'no file');
      return f;
    };
    for (const file of [true, false]) await (await fetch(`${base}/v1/upload/analyze`, { method: 'POST', headers: { Authorization: 'Bearer ih_live_k' }, body: form(file) })).arrayBuffer();
    for (const secret of ['ks_metrics', 'wrong']) {
      await (await fetch(`${base}/v1/auth`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ key_id: 'kid_metrics', key_secret: secret }) })).arrayBuffer();
    }
    await waitEntry(base, 'kind=auth&code=ih2001'); // the last answer is counted once its connection is done with it

    const m = await scrape(base);
    const sessions = [...ended, ...server.sessions];
    expect(sessions).toHaveLength(2);
    const sum = (f: (s: StreamSession) => number) => sessions.reduce((n, s) => n + f(s), 0);
    expect(valueOf(m, 'ih_mock_binary_messages_total')).toBe(sum((s) => s.stats.binaryMessages));
    expect(valueOf(m, 'ih_mock_binary_messages_total')).toBe(5);
    expect(valueOf(m, 'ih_mock_binary_bytes_total')).toBe(sum((s) => s.stats.bytesReceived));
    expect(valueOf(m, 'ih_mock_binary_bytes_total')).toBe(4 * webm.length + 'not a video at all'.length);
    expect(valueOf(m, 'ih_mock_rejected_messages_total')).toBe(1);
    expect(valueOf(m, 'ih_mock_media_received_seconds_total')).toBeCloseTo(sum((s) => s.stats.receivedSeconds), 6);
    expect(valueOf(m, 'ih_mock_windows_analyzed_total')).toBe(sum((s) => s.stats.windowsAnalyzed));
    expect(valueOf(m, 'ih_mock_windows_analyzed_total')).toBeGreaterThan(0);
    expect(valueOf(m, 'ih_mock_windows_shed_total')).toBe(sum((s) => s.stats.windowsShed));
    // Every envelope the clients received, by type.
    const received = new Map<string, number>();
    for (const c of [done, open] as TestClient[]) for (const f of c.frames) received.set(f.type, (received.get(f.type) ?? 0) + 1);
    const sent = m.get('ih_mock_events_sent_total')!;
    expect(sent.type).toBe('counter');
    expect(new Map(sent.samples.map((s) => [s.labels['type']!, s.value]))).toEqual(received);
    expect(sum((s) => s.stats.eventsSent)).toBe([...received.values()].reduce((a, b) => a + b, 0));
    expect(valueOf(m, 'ih_mock_errors_total', { code: 'ih5004', transport: 'stream' })).toBe(1);
    expect(valueOf(m, 'ih_mock_errors_total', { code: 'ih4001', transport: 'http' })).toBe(1);
    expect(valueOf(m, 'ih_mock_errors_total', { code: 'ih2001', transport: 'http' })).toBe(1);
    expect(m.get('ih_mock_errors_total')!.samples).toHaveLength(3);
    expect(valueOf(m, 'ih_mock_uploads_total', { status: '200' })).toBe(1);
    expect(valueOf(m, 'ih_mock_uploads_total', { status: '400' })).toBe(1);
    expect(valueOf(m, 'ih_mock_token_exchanges_total', { status: '200' })).toBe(1);
    expect(valueOf(m, 'ih_mock_token_exchanges_total', { status: '401' })).toBe(1);
    expect(valueOf(m, 'ih_mock_sessions_total', { scenario: 'steady' })).toBe(2);
    expect(valueOf(m, 'ih_mock_sessions_open', { scenario: 'steady' })).toBe(1);
    expect(m.get('ih_mock_sessions_open')!.type).toBe('gauge');
    expect(valueOf(m, 'ih_mock_sessions_ended_total', { reason: 'client_shutdown' })).toBe(1);
    // One observation per window whose results left the pipeline.
    const lag = m.get('ih_mock_event_lag_seconds')!;
    expect(lag.type).toBe('histogram');
    expect(valueOf(m, 'ih_mock_event_lag_seconds', {}, 'ih_mock_event_lag_seconds_count')).toBe(windowsEmitted);
    expect(windowsEmitted).toBeGreaterThan(0);
    const status = await adminGet(base, '/__ih/', { schema: 'AdminStatus' });
    expect(valueOf(m, 'ih_mock_journal_entries_total')).toBe(status.body.journal.recorded);
    expect(valueOf(m, 'ih_mock_journal_evicted_total')).toBe(0);
    for (const family of m.values()) expect(family.help, family.name).toBeTruthy();
  });

  it('keeps a registry per server: two servers in one process count apart; a full journal counts what it evicted', async () => {
    const webm = await readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 });
    const busy = await startServer({ scenario: 'steady', timing: 'instant', journalSize: 5 });
    const idle = await startServer({ scenario: 'steady' });
    const client = await connect(busy.streamUrl);
    await client.waitForType('session.ready');
    for (let i = 0; i < 3; i++) await client.sendBinary(webm);
    await untilReceived(busy, 3);
    await client.waitForType('signal.detected');
    const [b, i] = await Promise.all([scrape(busy.baseUrl), scrape(idle.baseUrl)]);
    expect(valueOf(b, 'ih_mock_binary_messages_total')).toBe(3);
    expect(valueOf(i, 'ih_mock_binary_messages_total')).toBe(0);
    expect(i.get('ih_mock_sessions_total')!.samples).toEqual([]);
    const journal = (await adminGet(busy.baseUrl, '/__ih/journal', { schema: 'JournalPage' })).body;
    expect(journal.entries).toHaveLength(5);
    expect(journal.capacity).toBe(5);
    expect(journal.evicted).toBe(journal.recorded - 5);
    expect(valueOf(b, 'ih_mock_journal_evicted_total')).toBe(valueOf(b, 'ih_mock_journal_entries_total')! - 5);
    expect(journal.entries.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3, 4, 5].map((k) => journal.recorded - 5 + k));
  });
});

/**
 * The admin API (docs/control-plane.md) driven the way an out-of-process test drives it: plain HTTP
 * calls while real clients stream real media. A Python `websockets` client (test/clients/
 * python_live_client.py) streams ffmpeg-made MP4 segments and stays connected; the test waits for an
 * event through the wait route, injects an ih3003 and a disconnect into that live session, and reads
 * what the client printed; the journal is checked frame by frame against it. Then: two parallel
 * clients in two test scopes, queued faults for sessions and uploads, defaults, reset, the event
 * stream, and bad input.
 */
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from '../../scenarios/loader.js';
import { adminCall, adminGet, adminPost, waitEntry } from '../support/admin.js';
import { connect, connectRefused } from '../support/client.js';
import { ffprobeDuration, readMedia } from '../support/media.js';
import { mp4Segments } from '../support/segments.js';
import { startServer, useServers } from '../support/server.js';

useServers();

const PYTHON = '/usr/bin/python3';
const CLIENT = fileURLToPath(new URL('../clients/python_live_client.py', import.meta.url));

interface ClientRun {
  /** The server messages the client printed, in order. */
  events: any[];
  close: { code: number; reason: string };
}

/** Start the live Python client; resolves once it has exited (the session was ended from outside). */
async function runLiveClient(url: string, segments: string[], testId?: string): Promise<ClientRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, IH_API_KEY: 'ih_live_control_plane' };
  if (testId !== undefined) env['IH_TEST_ID'] = testId;
  // -I: isolated mode, so nothing on PYTHONPATH can shadow Debian's websockets 10.4.
  const { stdout } = await promisify(execFile)(PYTHON, ['-I', CLIENT, url, ...segments], { env, timeout: 60_000 });
  const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
  const close = lines.pop()?.['close'];
  if (!close) throw new Error(`the client's last line is not the close line:\n${stdout}`);
  return { events: lines.filter((l) => typeof l['type'] === 'string'), close };
}

/** Wait until session `id` has received `n` binary messages, chaining waits on the journal (no polling). */
async function untilSegments(baseUrl: string, n: number, query: string, testId?: string): Promise<string> {
  let since = 0;
  let session = '';
  for (let i = 0; i < n; i++) {
    const { entry, next } = await waitEntry(baseUrl, `direction=in&type=binary&since=${since}&timeout_ms=20000${query}`, testId === undefined ? {} : { testId });
    session = entry.session;
    since = next;
  }
  return session;
}

const uploadForm = (bytes: Buffer) => {
  const form = new FormData();
  form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'video/mp4' }), 'call.mp4');
  return form;
};

describe('the admin API steering a live Python client', () => {
  it('waits for an event, injects ih3003 and a disconnect the client receives, and journals every frame as it was', { timeout: 90_000 }, async () => {
    const segments = await mp4Segments(16, 4);
    const server = await startServer({ scenario: 'steady', timing: 'instant' });
    const base = server.baseUrl;
    const running = runLiveClient(server.streamUrl, segments, 'py-live');

    // "The client got signal.detected for agreement", without sleeping.
    const { entry: detected } = await waitEntry(base, 'direction=out&type=signal.detected&signal_type=agreement&timeout_ms=20000', { testId: 'py-live' });
    expect(detected).toMatchObject({ kind: 'frame', test_id: 'py-live', direction: 'out', signal_type: 'agreement', media_time: 0 });
    const id: string = detected.session;
    await untilSegments(base, 4, `&session=${id}`, 'py-live');

    const quota = await adminPost(base, `/__ih/sessions/${id}/inject`, { faults: [{ action: 'error', code: 'ih3003' }] }, { testId: 'py-live', schema: 'InjectResult' });
    expect(quota.status).toBe(200);
    expect(quota.body).toEqual({ session: id, applied: 1, armed: 0, state: 'open' });
    const cut = await adminPost(base, `/__ih/sessions/${id}/inject`, { faults: [{ action: 'disconnect' }] }, { schema: 'InjectResult' });
    expect(cut.body).toEqual({ session: id, applied: 1, armed: 0, state: 'ended' });

    const { events, close } = await running;
    // The client saw the injected error (an error envelope, the session left open by it), then the cut.
    expect(close.code).toBe(1006);
    const error = events.find((e) => e.type === 'error');
    expect(error?.data).toMatchObject({ code: 'ih3003', segment: null, link: expect.stringContaining('ih3003') });
    expect(events.at(-1)).toEqual(error);
    expect(events.findIndex((e) => e.type === 'signal.detected')).toBeLessThan(events.indexOf(error));

    // The journal, frame by frame.
    const page = await adminGet(base, `/__ih/journal?session=${id}&kind=frame`, { schema: 'JournalPage' });
    const frames: any[] = page.body.entries;
    const out = frames.filter((f) => f.direction === 'out' && f.event !== null);
    expect(out.map((f) => f.event)).toEqual(events); // exactly what the client received, in order
    for (const f of out) {
      expect(f.type).toBe(f.event.type);
      expect(f.bytes).toBe(Buffer.byteLength(JSON.stringify(f.event)));
      if (f.type === 'signal.detected' || f.type === 'engagement.updated') expect(f.media_time).toBe(f.event.data.start);
      if (f.type === 'signal.ended') expect(f.media_time).toBe(f.event.data.end);
      if (f.type.startsWith('signal.')) expect(f.signal_type).toBe(f.event.data.signal_type);
      expect(f.code).toBe(f.type === 'error' ? f.event.data.code : null);
    }
    const incoming = frames.filter((f) => f.direction === 'in');
    expect(incoming.map((f) => f.type)).toEqual(['session.config', 'binary', 'binary', 'binary', 'binary', 'close']);
    expect(incoming[0]).toMatchObject({ verdict: 'accepted', code: null, bytes: '{"include": ["conversation_quality_overall"]}'.length }); // as Python's json.dumps writes it
    const durations = await Promise.all(segments.map((s) => ffprobeDuration(s)));
    let mediaEnd = 0;
    incoming.slice(1, 5).forEach((f, i) => {
      mediaEnd += f.media_seconds;
      expect(f).toMatchObject({ segment: i + 1, bytes: statSync(segments[i]!).size, verdict: 'accepted', code: null });
      expect(f.media_seconds).toBeCloseTo(durations[i]!, 1);
      expect(f.media_time).toBeCloseTo(mediaEnd, 6);
    });
    expect(incoming[5]).toMatchObject({ type: 'close', detail: { code: 1006 } });
    // In order: ready first; the config before its answer; each segment before the events it caused;
    // the injected error, then the cut, then the client's side of it.
    const sequence = frames.map((f) => `${f.direction} ${f.type}`);
    expect(sequence.slice(0, 3)).toEqual(['out session.ready', 'in session.config', 'out session.updated']);
    expect(sequence.slice(-3)).toEqual(['out error', 'out disconnect', 'in close']);
    for (const f of out.filter((e) => e.media_time !== null)) {
      const cause = incoming.findIndex((i) => i.type === 'binary' && i.media_time >= f.media_time);
      expect(frames.indexOf(incoming[cause]), `${f.type} at ${f.media_time} after the segment that brought it`).toBeLessThan(frames.indexOf(f));
    }
    const seqs = frames.map((f) => f.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    // The whole journal of the session: opened, frames, the two injections, ended.
    const all = (await adminGet(base, `/__ih/journal?session=${id}&kind=session,admin`, { schema: 'JournalPage' })).body.entries;
    expect(all.map((e: any) => e.type)).toEqual(['session.opened', 'inject', 'inject', 'session.ended']);
    expect(all[3].detail).toMatchObject({ reason: 'scripted_fault', stats: { binary_messages: 4 } });

    const detail = await adminGet(base, `/__ih/sessions/${id}`, { schema: 'SessionDetail' });
    expect(detail.body.session).toMatchObject({
      id,
      test_id: 'py-live',
      state: 'ended',
      scenario: 'steady',
      end_reason: 'scripted_fault',
      faults_injected: 2,
      credential_source: 'authorization-header',
      stats: { binary_messages: 4, rejected_messages: 0, bytes_received: segments.reduce((n, s) => n + statSync(s).size, 0), events_sent: events.length, config_frames: 1 },
    });
    expect(detail.body.limits).toMatchObject({ min_segment_seconds: 3 });
    expect(detail.body.scenario_definition).toMatchObject({ name: 'steady' });
    // Nothing more can be injected into it.
    const late = await adminPost(base, `/__ih/sessions/${id}/inject`, { faults: [{ action: 'close' }] });
    expect(late.status).toBe(409);
    expect(late.body.error_id).toBe('ihm4009');
  });

  it('keeps two parallel tests apart: sessions, journal, waits, queued faults and injections are scoped by test id', { timeout: 90_000 }, async () => {
    const segments = await mp4Segments(16, 4);
    const server = await startServer({ scenario: 'steady', timing: 'instant' });
    const base = server.baseUrl;
    // Each test queues a fault of its own for its next session: an event type only it should see.
    for (const scope of ['suite-a', 'suite-b']) {
      const queued = await adminPost(base, '/__ih/queue/sessions', { faults: [{ action: 'unknown_event', event_type: `test.only_${scope.slice(-1)}` }] }, { testId: scope, schema: 'QueueState' });
      expect(queued.body).toMatchObject({ test_id: scope, sessions: [{ remaining: 1 }], uploads: [] });
    }
    // One names its test in a header, the other on the URL (as a browser must).
    const runA = runLiveClient(server.streamUrl, segments, 'suite-a');
    const runB = runLiveClient(`${server.streamUrl}?test_id=suite-b`, segments);
    const idA = await untilSegments(base, 4, '', 'suite-a');
    const idB = await untilSegments(base, 4, '', 'suite-b');
    expect(idA).not.toBe(idB);

    const listA = await adminGet(base, '/__ih/sessions', { testId: 'suite-a', schema: 'SessionList' });
    expect(listA.body.sessions.map((s: any) => [s.id, s.test_id, s.faults_queued])).toEqual([[idA, 'suite-a', 1]]);
    const listB = await adminGet(base, '/__ih/sessions?test_id=suite-b', { schema: 'SessionList' });
    expect(listB.body.sessions.map((s: any) => s.id)).toEqual([idB]);
    expect((await adminGet(base, '/__ih/sessions?state=open', { schema: 'SessionList' })).body.sessions).toHaveLength(2);

    const journalA = (await adminGet(base, '/__ih/journal', { testId: 'suite-a', schema: 'JournalPage' })).body.entries;
    expect(new Set(journalA.map((e: any) => e.test_id))).toEqual(new Set(['suite-a']));
    expect(journalA.map((e: any) => e.type)).toContain('test.only_a');
    expect(journalA.map((e: any) => e.type)).not.toContain('test.only_b');
    // A wait in B's scope does not see A's event.
    const missed = await adminGet(base, '/__ih/journal/wait?type=test.only_a&timeout_ms=300', { testId: 'suite-b' });
    expect(missed.status).toBe(408);
    expect(missed.body.error_id).toBe('ihm4008');
    expect((await waitEntry(base, 'type=test.only_a', { testId: 'suite-a' })).entry.session).toBe(idA);
    // Nor can B reach A's session.
    const foreign = await adminPost(base, `/__ih/sessions/${idA}/inject`, { faults: [{ action: 'disconnect' }] }, { testId: 'suite-b' });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error_id).toBe('ihm4004');
    expect((await adminGet(base, '/__ih/queue', { testId: 'suite-a', schema: 'QueueState' })).body).toEqual({ test_id: 'suite-a', sessions: [], uploads: [] });

    for (const [scope, id] of [['suite-a', idA], ['suite-b', idB]] as const) {
      expect((await adminPost(base, `/__ih/sessions/${id}/inject`, { faults: [{ action: 'close', close_code: 4000, reason: `end of ${scope}` }] }, { testId: scope })).status).toBe(200);
    }
    const [a, b] = await Promise.all([runA, runB]);
    expect(a.close).toEqual({ code: 4000, reason: 'end of suite-a' });
    expect(b.close).toEqual({ code: 4000, reason: 'end of suite-b' });
    expect(a.events.map((e) => e.type)).toContain('test.only_a');
    expect(a.events.map((e) => e.type)).not.toContain('test.only_b');
    expect(b.events.map((e) => e.type)).toContain('test.only_b');
    expect(b.events.map((e) => e.type)).not.toContain('test.only_a');
  });
});

describe('queued faults, defaults and reset', () => {
  it('queues faults for the next uploads of one test; journals uploads and token exchanges without credentials', { timeout: 60_000 }, async () => {
    const mp4 = await readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 });
    const server = await startServer({ scenario: 'steady', timing: 'instant', processingRatio: 0, keyPairs: [{ keyId: 'kid_journal', keySecret: 'ks_very_secret_value' }] });
    const base = server.baseUrl;
    const queued = await adminPost(base, '/__ih/queue/uploads', { faults: [{ action: 'error', code: 'ih3002', retry_after_seconds: 2 }], uploads: 2 }, { testId: 'up', schema: 'QueueState' });
    expect(queued.body.uploads).toEqual([{ faults: [{ action: 'error', code: 'ih3002', retry_after_seconds: 2 }], remaining: 2 }]);

    const upload = (headers: Record<string, string>) => fetch(`${base}/v1/upload/analyze`, { method: 'POST', headers: { Authorization: 'Bearer ih_live_upload_key', ...headers }, body: uploadForm(mp4) });
    expect((await upload({})).status).toBe(200); // another scope: untouched
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await upload({ 'X-IH-Test-Id': 'up' });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get('retry-after')).toBe('2');
        expect((await res.json()).error_id).toBe('ih3002');
      } else await res.arrayBuffer();
    }
    expect(statuses).toEqual([429, 429, 200]);

    const token = await fetch(`${base}/v1/auth?test_id=up`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ key_id: 'kid_journal', key_secret: 'ks_very_secret_value', scopes: ['interhumanai.upload'] }) });
    const { access_token: accessToken } = (await token.json()) as { access_token: string };
    const refused = await fetch(`${base}/v1/auth`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-IH-Test-Id': 'up' }, body: JSON.stringify({ key_id: 'kid_journal', key_secret: 'wrong_secret_value' }) });
    expect(refused.status).toBe(401);
    await refused.arrayBuffer();

    // The journal records each answer once its connection is done with it: wait for the last one.
    await waitEntry(base, 'kind=auth&code=ih2001', { testId: 'up' });
    const entries = (await adminGet(base, '/__ih/journal?kind=upload,auth', { testId: 'up', schema: 'JournalPage' })).body.entries;
    expect(entries.map((e: any) => [e.type, e.detail.status, e.code])).toEqual([
      ['upload', 429, 'ih3002'],
      ['upload', 429, 'ih3002'],
      ['upload', 200, null],
      ['auth', 200, null],
      ['auth', 401, 'ih2001'],
    ]);
    expect(entries[2].detail.body.signals.length).toBeGreaterThan(0);
    expect(entries[0].bytes).toBeGreaterThan(mp4.length);
    const everything = JSON.stringify((await adminGet(base, '/__ih/journal')).body);
    for (const secret of ['ks_very_secret_value', 'wrong_secret_value', accessToken, 'ih_live_upload_key']) expect(everything).not.toContain(secret);
    expect((await adminGet(base, '/__ih/queue', { testId: 'up' })).body.uploads).toEqual([]);
  });

  it('sets defaults and queues session faults per test, arms triggered faults on a live session, and resets a scope or everything', { timeout: 60_000 }, async () => {
    const segment = await readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 });
    const server = await startServer({ scenario: 'steady', timing: 'instant' });
    const base = server.baseUrl;
    const set = await adminPost(base, '/__ih/defaults', { scenario: 'quota-exhausted' }, { testId: 'd', schema: 'Defaults' });
    expect(set.body).toEqual({ test_id: 'd', scenario: 'quota-exhausted', seed: null, timing: null });
    const quota = await connect(`${server.streamUrl}?test_id=d`);
    expect(await quota.closed).toEqual({ code: 4029, reason: expect.any(String) });
    expect(quota.types()).toEqual(['session.ready', 'error']);
    const other = await connect(server.streamUrl);
    await other.waitForType('session.ready');

    // A fault armed on a live session fires on its trigger, like a scenario's.
    const id = other.frames[0]!.correlation_id;
    const armed = await adminPost(base, `/__ih/sessions/${id}/inject`, { faults: [{ when: { segment: 2 }, action: 'unknown_event', event_type: 'test.armed' }] }, { schema: 'InjectResult' });
    expect(armed.body).toEqual({ session: id, applied: 0, armed: 1, state: 'open' });
    await other.sendBinary(segment);
    // The first segment is journaled as it arrives, and anything it triggers in the same turn.
    await waitEntry(base, `session=${id}&type=binary`);
    expect((await adminGet(base, `/__ih/journal?session=${id}&type=test.armed`)).body.entries).toEqual([]);
    await other.sendBinary(segment);
    await other.waitForType('test.armed');

    // A queued missing_scope refuses the next session of its scope instead of session.ready; the one after is served.
    await adminPost(base, '/__ih/queue/sessions', { faults: [{ action: 'missing_scope' }] }, { testId: 'm' });
    const refused = await connect(server.streamUrl, { headers: { 'X-IH-Test-Id': 'm', Authorization: 'Bearer ih_test_key' } });
    expect((await refused.closed).code).toBe(4003);
    expect(refused.types()).toEqual(['error']);
    expect(refused.frames[0]!.data.code).toBe('ih2003');
    const served = await connect(`${server.streamUrl}?test_id=m`);
    await served.waitForType('session.ready');

    // Reset one scope: its defaults, queue, ended sessions and journal entries; nothing of the others.
    const before = (await adminGet(base, '/__ih/journal', { testId: 'd', schema: 'JournalPage' })).body.entries.length;
    const reset = await adminPost(base, '/__ih/reset', undefined, { testId: 'd', schema: 'ResetResult' });
    expect(reset.body).toEqual({ test_id: 'd', journal_entries: before, ended_sessions: 1, queued: 0, defaults: true });
    expect((await adminGet(base, '/__ih/defaults', { testId: 'd' })).body).toEqual({ test_id: 'd', scenario: null, seed: null, timing: null });
    expect((await adminGet(base, '/__ih/journal', { testId: 'd' })).body.entries.map((e: any) => e.type)).toEqual(['reset']);
    expect((await adminGet(base, '/__ih/sessions', { testId: 'm', schema: 'SessionList' })).body.sessions).toHaveLength(2);
    // Reset everything: only open sessions remain (left alone), and the journal holds the reset itself.
    const all = await adminPost(base, '/__ih/reset', undefined, { schema: 'ResetResult' });
    expect(all.body).toMatchObject({ test_id: null, ended_sessions: 1 });
    const status = await adminGet(base, '/__ih/', { schema: 'AdminStatus' });
    expect(status.body).toMatchObject({ sessions_open: 2, sessions_ended: 0, journal: { size: 1, evicted: 0 } });
    expect(other.ws.readyState).toBe(other.ws.OPEN);
  });
});

describe('bad admin input', () => {
  it('gets a clear 4xx with the v1 error body: the same fault messages as a scenario file, unknown sessions, routes and parameters, timeouts', async () => {
    const server = await startServer({ scenario: 'steady', timing: 'instant' });
    const base = server.baseUrl;
    const client = await connect(server.streamUrl);
    const id = (await client.waitForType('session.ready')).correlation_id;
    const refused = async (method: string, path: string, body: unknown, status: number, code: string, call: { testId?: string; headers?: Record<string, string> } = {}) => {
      const answer = await adminCall(base, method, path, { body, ...call });
      expect(answer.status, `${method} ${path}`).toBe(status);
      expect(answer.body.error_id, `${method} ${path}`).toBe(code);
      expect(answer.body.link).toMatch(new RegExp(`^docs/control-plane\\.md#${code}-[a-z-]+$`));
      return answer.body.message as string;
    };

    // Faults: checked by the schema and the scenario rules, with the messages `ih-mock validate` prints.
    const faults = [{ action: 'delay' }, { action: 'error', code: 'ih9999' }, { action: 'close', windows: 2 }, { action: 'missing_scope' }];
    const message = await refused('POST', `/__ih/sessions/${id}/inject`, { faults: faults.slice(0, 3) }, 400, 'ihm4001');
    const yaml = `name: faulty\nfaults:\n${faults.slice(0, 3).map((f) => `  - ${JSON.stringify(f)}`).join('\n')}\n`;
    let fileProblems: string[] = [];
    try {
      parseScenario(yaml, 'faulty.yaml');
    } catch (err) {
      fileProblems = (err as ScenarioError).problems.map((p) => `${p.path}: ${p.message}`);
    }
    expect(fileProblems.length).toBeGreaterThan(0);
    expect(message.split('\n').slice(1).sort()).toEqual(fileProblems.sort());
    expect(message).toMatch(/^invalid faults \(\d+ problems?\):\n/);
    // Semantic rules too (the schema passes these): a missing parameter, and what a live session cannot take.
    expect(await refused('POST', `/__ih/sessions/${id}/inject`, { faults: [faults[0]] }, 400, 'ihm4001')).toBe('invalid faults (1 problem):\n/faults/0: action delay requires "seconds"');
    expect(await refused('POST', `/__ih/sessions/${id}/inject`, { faults: [faults[3]] }, 400, 'ihm4001')).toMatch(/\/faults\/0\/action: missing_scope replaces session.ready/);
    expect(await refused('POST', '/__ih/queue/uploads', { faults: [{ action: 'throttle', bytes_per_second: 10 }] }, 400, 'ihm4001')).toMatch(/\/faults\/0\/action: an upload fault .* is error, delay or disconnect, not throttle/);
    expect(await refused('POST', '/__ih/queue/uploads', { faults: [{ action: 'error', code: 'ih6002' }] }, 400, 'ihm4001')).toMatch(/ih6002 is a WebSocket-only code/);
    expect(await refused('POST', '/__ih/queue/sessions', { faults: [], sessions: 0 }, 400, 'ihm4001')).toMatch(/\/faults: must have at least 1 item[\s\S]*\/sessions: must be >= 1/);
    expect(await refused('POST', `/__ih/sessions/${id}/inject`, { fault: { action: 'close' } }, 400, 'ihm4001')).toMatch(/\/faults: is required[\s\S]*unexpected key "fault"/);
    expect(await refused('POST', `/__ih/sessions/${id}/inject`, '{"faults": [', 400, 'ihm4001')).toMatch(/not valid JSON/);
    expect(await refused('POST', `/__ih/sessions/${id}/inject`, 'action=close', 400, 'ihm4001', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } })).toMatch(/Content-Type: application\/json/);
    expect(await refused('POST', `/__ih/sessions/${id}/inject`, undefined, 400, 'ihm4001')).toMatch(/needs a JSON body/);
    expect(await refused('POST', '/__ih/defaults', { scenario: 'no-such-scenario' }, 400, 'ihm4001')).toMatch(/unknown scenario "no-such-scenario"/);
    expect(await refused('POST', '/__ih/defaults', { scenario: { name: 'x', signals: [{ type: 'agreement', start: 5, end: 2, probability: 'high' }] } }, 400, 'ihm4001')).toMatch(/\/signals\/0\/end: must be greater than start \(5\), got 2/);
    expect(await refused('POST', '/__ih/defaults', { timing: 'slow' }, 400, 'ihm4001')).toMatch(/\/timing: must be one of live, ratio, instant, realistic/);

    // Unknown things.
    expect(await refused('GET', '/__ih/sessions/not-a-session', undefined, 404, 'ihm4004')).toMatch(/No session "not-a-session"/);
    expect(await refused('GET', '/__ih/nothing-here', undefined, 404, 'ihm4005')).toMatch(/No admin route GET \/__ih\/nothing-here/);
    expect(await refused('GET', '/__ih/journal?sesion=x', undefined, 400, 'ihm4001')).toMatch(/unknown query parameter "sesion"/);
    expect(await refused('GET', '/__ih/journal?direction=sideways', undefined, 400, 'ihm4001')).toMatch(/direction must be in .* or out/);
    expect(await refused('GET', '/__ih/journal?kind=frames', undefined, 400, 'ihm4001')).toMatch(/kind must be among frame, session/);
    expect(await refused('GET', '/__ih/journal?limit=0', undefined, 400, 'ihm4001')).toMatch(/limit must be from 1 to 10000/);
    expect(await refused('GET', '/__ih/journal/wait?since=-1', undefined, 400, 'ihm4001')).toMatch(/since= must be a whole number/);
    expect(await refused('GET', '/__ih/sessions', undefined, 400, 'ihm4001', { headers: { 'X-IH-Test-Id': 'x'.repeat(201) } })).toMatch(/X-IH-Test-Id header must be 1 to 200 printable ASCII/);
    expect(await refused('GET', '/__ih/sessions?test_id=b', undefined, 400, 'ihm4001', { testId: 'a' })).toMatch(/name different tests/);
    // A wait that sees nothing: 408 after its timeout, saying where to continue.
    expect(await refused('GET', '/__ih/journal/wait?type=signal.ended&timeout_ms=200', undefined, 408, 'ihm4008')).toMatch(/No journal entry after seq 0 matched type=signal.ended within 200 ms\. Wait again with since=\d+/);

    // A bad test id on the stream upgrade is refused like any bad query parameter; the session is untouched by all of this.
    const upgrade = await connectRefused(`${server.streamUrl}?test_id=%20x`);
    expect(upgrade.status).toBe(400);
    expect(upgrade.body).toMatchObject({ error_id: 'ih4900', message: expect.stringMatching(/\?test_id= must be 1 to 200 printable ASCII/) });
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    expect(client.types()).toEqual(['session.ready']);
  });
});

describe('the journal as an event stream', () => {
  it('streams matching entries as Server-Sent Events, from a cursor, and resumes after Last-Event-ID', async () => {
    const server = await startServer({ scenario: 'steady', timing: 'instant' });
    const base = server.baseUrl;
    const first = await connect(server.streamUrl);
    await first.waitForType('session.ready');
    const stop = new AbortController();
    const response = await fetch(`${base}/__ih/journal/stream?type=session.ready`, { signal: stop.signal });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    let text = '';
    const events = async (n: number) => {
      for (;;) {
        const found = [...text.matchAll(/id: (\d+)\nevent: entry\ndata: (.*)\n\n/g)];
        if (found.length >= n) return found.map((m) => ({ id: Number(m[1]), entry: JSON.parse(m[2]!) }));
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended after ${found.length} events`);
        text += new TextDecoder().decode(value);
      }
    };
    // What was already recorded comes first, then what happens next.
    const [already] = await events(1);
    expect(already!.entry).toMatchObject({ kind: 'frame', type: 'session.ready', session: first.frames[0]!.correlation_id });
    const second = await connect(server.streamUrl);
    await second.waitForType('session.ready');
    const [, next] = await events(2);
    expect(next!.entry.session).toBe(second.frames[0]!.correlation_id);
    expect(next!.id).toBe(next!.entry.seq);
    stop.abort();
    await reader.cancel().catch(() => undefined);

    // A reconnecting EventSource sends Last-Event-ID: only later entries.
    const third = await connect(server.streamUrl);
    await third.waitForType('session.ready');
    const resumed = new AbortController();
    const again = await fetch(`${base}/__ih/journal/stream?type=session.ready`, { headers: { 'Last-Event-ID': String(next!.id) }, signal: resumed.signal });
    const reader2 = again.body!.getReader();
    let text2 = '';
    while (!/event: entry/.test(text2)) text2 += new TextDecoder().decode((await reader2.read()).value);
    const ids = [...text2.matchAll(/data: (.*)\n/g)].map((m) => JSON.parse(m[1]!).session);
    expect(ids).toEqual([third.frames[0]!.correlation_id]);
    resumed.abort();
    await reader2.cancel().catch(() => undefined);
  });
});

/** The record, replay, check and from-recording commands as a user runs them: real processes, the shipped example recordings. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { readRecording, serverEvents, type RecordedStream } from '../../server/record/reader.js';
import { connect } from '../support/client.js';
import { runCli, startCli, useCliProcesses, waitReady } from '../support/cli.js';
import { freePort } from '../support/raw-http.js';
import { until } from '../support/wait.js';
import { startServer, useServers } from '../support/server.js';

useServers();
useCliProcesses();

const STEADY = join(PACKAGE_ROOT, 'recordings', 'ih-mock-steady-session.jsonl');
const OVERLOADED = join(PACKAGE_ROOT, 'recordings', 'ih-mock-overloaded-session.jsonl');

describe('the example recordings', () => {
  it.each([STEADY, OVERLOADED])('%s is a valid recording of ih-mock, labelled as such, without credentials', (file) => {
    const recording = readRecording(file);
    expect(recording.problems).toEqual([]);
    expect(recording.header.label).toMatch(/^Recorded from ih-mock .* through ih-mock record; NOT the live service/);
    expect(readFileSync(file, 'utf8')).not.toMatch(/ks_example_secret|ih_live_example_key|ihtok_[0-9a-f]{40}/);
  });

  it('the overloaded one shows shed windows announced with coverage.dropped', () => {
    const stream = readRecording(OVERLOADED).sessions.find((s) => s.kind === 'stream') as RecordedStream;
    const dropped = serverEvents(stream).filter((e) => e.type === 'coverage.dropped');
    expect(dropped.map((e) => e.data)).toEqual([{ ranges: [{ start: 125, end: 135 }] }]);
  });
});

describe('ih-mock check', { timeout: 120_000 }, () => {
  it('passes the example recordings and reports a hand-broken one by invariant and frame, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ih-mock-check-'));
    const broken = join(dir, 'broken.jsonl');
    // The first signal.ended goes missing: the session ends with agreement still active.
    const lines = readFileSync(STEADY, 'utf8').split('\n');
    const drop = lines.findIndex((l) => l.includes('signal.ended'));
    writeFileSync(broken, lines.filter((_, i) => i !== drop).join('\n'));
    // An upload answered 200 whose body says the status was an error; and one with a code of another status.
    const upload = lines.map((l) => (l.includes('"kind":"http.response"') && l.includes('"signals"') ? l.replace('"status":200', '"status":422') : l));
    const brokenUpload = join(dir, 'broken-upload.jsonl');
    writeFileSync(brokenUpload, upload.join('\n'));
    const notRecording = join(dir, 'x.jsonl');
    writeFileSync(notRecording, '{"hello":1}\n');
    // Independent runs, side by side.
    const [ok, bad, json, noArgs, badUpload, refused] = await Promise.all([
      runCli(['check', STEADY, OVERLOADED]),
      runCli(['check', broken]),
      runCli(['check', '--json', broken]),
      runCli(['check']),
      runCli(['check', brokenUpload]),
      runCli(['check', notRecording]),
    ]);
    rmSync(dir, { recursive: true, force: true });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/session 2: ok/);
    expect(ok.stdout).toMatch(/ih-mock-steady-session\.jsonl#session 3: ok \(3 invariants\)/); // the upload
    expect(ok.stdout).toMatch(/3 session\(s\) and upload\(s\) checked, 0 not checked, 0 skipped, 0 error\(s\)/);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/broken\.jsonl#session 2: frame \d+: FAILED server\.signals-end-before-session-ended: session\.ended while agreement still active/);
    const report = JSON.parse(json.stdout);
    expect(report.outcome).toBe('failed');
    expect(report.results[0].violations[0]).toMatchObject({ invariant: 'server.signals-end-before-session-ended' });
    expect(noArgs.code).toBe(2);
    expect(badUpload.code).toBe(1);
    expect(badUpload.stdout).toMatch(/broken-upload\.jsonl#session 3: session: FAILED server\.upload-answer: the 422 body is not a v1 error body/);
    expect(refused.code).toBe(3); // could not check
    expect(refused.stderr).toMatch(/not an ih-mock recording/);
    expect(refused.stdout).toMatch(/x\.jsonl: NOT CHECKED: the file could not be read as a recording/);
  }, 90_000);

  it('a recording in which nothing could be checked is "could not check", exit 3', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ih-mock-check-'));
    const lines = readFileSync(STEADY, 'utf8').split('\n');
    // A recording whose only session is a refused upgrade: nothing in it could be checked.
    const onlyRefused = join(dir, 'refused.jsonl');
    writeFileSync(onlyRefused, [lines[0], '{"session":1,"t":0,"started":0,"kind":"ws.refused","path":"/v1/stream/analyze","query":"","headers":{},"status":401,"response_headers":{},"body":"{\\"error_id\\":\\"ih2001\\"}"}', ''].join('\n'));
    const nothing = await runCli(['check', onlyRefused]);
    expect(nothing.stdout).toMatch(/refused\.jsonl#session 1: skipped: the upgrade was refused with HTTP 401 \(ih2001\): no session to check/);
    expect(nothing.stdout).toMatch(/could not check: .*refused\.jsonl: no stream session or upload in it could be checked/);
    expect(nothing.code).toBe(3);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);
});

describe('ih-mock check of a live server', () => {
  it('drives ih-mock with the reference client and finds nothing; drives a broken server and names the invariant and frame', async () => {
    const server = await startServer({ timing: 'instant', apiKeys: ['ih_live_check'] });
    const ok = await runCli(['check', `${server.streamUrl}?scenario=steady`, '--key', 'ih_live_check']);
    expect(ok.stdout).toMatch(/ok \(12 invariants\)/);
    expect(ok.stdout).toMatch(/ok \(3 invariants\)/); // the upload of the same file
    expect(ok.stdout).toMatch(/2 session\(s\) and upload\(s\) checked, 0 not checked, 0 skipped, 0 error\(s\)/);
    expect(ok.code).toBe(0);
    // A server that announces itself twice, forgets to end a signal, and has no upload endpoint.
    const http = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"detail":"Not Found"}');
    });
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (ws) => {
      const send = (type: string, data: unknown) => ws.send(JSON.stringify({ type, timestamp: '2026-11-23T10:00:00.000000Z', correlation_id: '3f0c2a1e-8a1b-4c2d-9e3f-0a1b2c3d4e5f', data }));
      const ready = { session_idle_timeout_seconds: 300, session_max_duration_seconds: 3600, max_segment_duration_seconds: null, min_segment_size_bytes: 1, max_segment_size_bytes: 33554432, supported_session_config_options: { include: [], goal_dimensions: null } };
      send('session.ready', ready);
      send('session.ready', ready);
      ws.on('message', (data, isBinary) => {
        if (isBinary || !String(data).includes('session.close')) return;
        send('signal.detected', { signal_type: 'interest', start: 0, probability: 'high', rationale: 'r' });
        send('session.ended', { reason: 'client_shutdown' });
        ws.close(1000);
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as AddressInfo).port;
    const bad = await runCli(['check', `ws://127.0.0.1:${port}/v1/stream/analyze`, '--key', 'k']);
    wss.close();
    http.close();
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/frame 1: FAILED server\.ready-first: a second session\.ready/);
    expect(bad.stdout).toMatch(/FAILED server\.signals-end-before-session-ended: session\.ended while interest still active/);
    expect(bad.stdout).toMatch(/FAILED server\.upload-answer: the 404 body is not a v1 error body/);
    expect((await runCli(['check', `ws://127.0.0.1:${port}/v1/stream/analyze`])).code).toBe(2);
  }, 120_000);

  it('could not check is its own outcome (exit 3, a one-line reason): a wrong key, an unreachable server, a silent one past --timeout', async () => {
    const server = await startServer({ timing: 'instant', apiKeys: ['ih_live_check'] });
    const wrongKey = await runCli(['check', `${server.streamUrl}?scenario=steady`, '--key', 'ih_live_wrong']);
    expect(wrongKey.stdout).toMatch(/\(stream\): NOT CHECKED: the upgrade was refused with HTTP 401 \(ih2001\): is --key right\?/);
    expect(wrongKey.stdout).toMatch(/NOT CHECKED: the upload was answered 401 \(ih2001\): is --key right\?; the analysis was not checked/);
    expect(wrongKey.stdout).toMatch(/^could not check: .*is --key right\?$/m);
    expect(wrongKey.stdout).not.toMatch(/: ok \(/);
    expect(wrongKey.code).toBe(3);

    const unreachable = await runCli(['check', `ws://127.0.0.1:${await freePort()}/v1/stream/analyze`, '--key', 'k']);
    expect(unreachable.stdout).toMatch(/could not check: .*\(stream\): the upstream http:\/\/127\.0\.0\.1:\d+ could not be reached/);
    expect(unreachable.code).toBe(3);

    // A server that accepts the connection and never answers: the check gives up at --timeout.
    const silent = createTcpServer((socket) => socket.on('error', () => {}));
    const held: Socket[] = [];
    silent.on('connection', (socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const quiet = await runCli(['check', `ws://127.0.0.1:${(silent.address() as AddressInfo).port}/v1/stream/analyze`, '--key', 'k', '--timeout', '3']);
    for (const socket of held) socket.destroy();
    silent.close();
    expect(quiet.stdout).toMatch(/\(stream\): NOT CHECKED: no answer to the upgrade within the time limit \(--timeout 3 s\)/);
    expect(quiet.stdout).toMatch(/NOT CHECKED: the upload: not sent, the time limit \(--timeout 3 s\) ran out first/);
    expect(quiet.code).toBe(3);
    expect((await runCli(['check', `ws://127.0.0.1:1/v1/stream/analyze`, '--key', 'k', '--timeout', '0'])).code).toBe(2);
  }, 120_000);
});

describe('ih-mock replay and scenarios from-recording', { timeout: 120_000 }, () => {
  it('replays the steady example to a client (media pacing), then exits 1 on SIGTERM when the client diverged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ih-mock-replay-'));
    const report = join(dir, 'report.json');
    const run = startCli(['replay', STEADY, '--pace', 'media', '--port', '0', '--report', report]);
    const base = await waitReady(run, undefined, 'replay');
    expect(run.stdout()).toMatch(/1 recorded stream session/);
    const client = await connect(`${base.replace('http', 'ws')}/v1/stream/analyze`, { apiKey: 'anything' });
    await client.waitForType('session.ready');
    client.sendJson({ include: [] }); // the recorded client asked for both quality includes
    await client.waitForType('session.updated');
    client.ws.close();
    await client.closed;
    // The close is what the replay reports last (the segments and session.close the client never sent).
    await until(() => /never sent session\.close before closing/.test(run.stderr()), 'the replay has seen the client close');
    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    expect(code).toBe(1);
    expect(run.stderr()).toMatch(/ih-mock replay: session 2: text frame 1 differs \(recorded \{"include":\["conversation_quality_overall","conversation_quality_timeline"\]\}, got \{"include":\[\]\}\)/);
    expect(JSON.parse(readFileSync(report, 'utf8')).divergences.length).toBeGreaterThanOrEqual(1);
    rmSync(dir, { recursive: true, force: true });
  });

  it('from-recording writes a scenario that validates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ih-mock-extract-'));
    const out = join(dir, 'steady-again.yaml');
    const made = await runCli(['scenarios', 'from-recording', STEADY, '--out', out]);
    expect(made.code).toBe(0);
    const check = await runCli(['validate', out]);
    expect(check.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/type: hesitation/);
    expect((await runCli(['scenarios', 'from-recording', STEADY, '--session', '9'])).stderr).toMatch(/no stream session 9 \(it has 2\)/);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('bad usage: one line, exit 2', async () => {
    const cases = [['record'], ['record', '--upstream', 'ftp://x'], ['replay'], ['replay', STEADY, '--speed', '0'], ['replay', STEADY, '--pace', 'media', '--speed', '2'], ['replay', STEADY, '--client-idle', '0'], ['replay', '/no/such/file.jsonl']];
    const runs = await Promise.all(cases.map((args) => runCli(args)));
    runs.forEach(({ code, stderr }, i) => {
      expect(code, cases[i]!.join(' ')).toBe(2);
      expect(stderr.trim().split('\n'), cases[i]!.join(' ')).toHaveLength(1);
    });
  }, 60_000);
});

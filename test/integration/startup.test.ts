/**
 * The built package starts without compiling a schema (issue 16): its validators are compiled at
 * build (`schemas/generate-validators.ts`), and fastify's own schema compilers are only loaded for a
 * route with a fastify schema, which ih-mock has none of. `bin/ih-mock.js` runs the CLI as bundled
 * at build (`server/cli/build-bundle.ts`), so what it loads comes from two places, both checked: the
 * bundle (esbuild's account of its inputs must name no module of Ajv's compiler), and files Node
 * loads at run time (a probe loaded with `--import` reports, as the process exits, every module of
 * Ajv's compiler in the require cache). The served CLI is made to validate a bad token-exchange body,
 * a bad admin body and a bad session config frame first, so the validators have run. How fast it
 * starts is measured by `npm run bench` (its start-up rows), not here.
 *
 * What the server loads only after its readiness line (prom-client for /metrics, fast-check for
 * random scenarios, the wire validators) is there for requests sent the moment the line appears:
 * they wait for it, or load it.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { allBundledSources } from '../support/bundle.js';
import { connect, type TestClient } from '../support/client.js';
import { startCli, useCliProcesses, waitReady, type Running } from '../support/cli.js';
import { readMedia } from '../support/media.js';
import { upload } from '../support/upload.js';

useCliProcesses();

const PROBE = join(PACKAGE_ROOT, 'test', 'support', 'ajv-compiler-probe.mjs');
/** A module of Ajv's compiler: anything of `ajv/dist/` but its run-time helpers (as the probe judges). */
const AJV_COMPILER = /[\\/]?node_modules[\\/]ajv[\\/]dist[\\/](?!runtime[\\/])/;

/** The Ajv compiler modules the probe saw loaded, from a finished process's stderr. */
function compilerModules(stderr: string): string[] {
  const line = /^ajv-compiler-probe: (.*)$/m.exec(stderr);
  if (!line) throw new Error(`the probe did not report (was it loaded?):\n${stderr}`);
  return JSON.parse(line[1]!) as string[];
}

function runNode(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: PACKAGE_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

async function stopped(run: Running): Promise<{ code: number | null; stderr: string }> {
  run.child.kill('SIGTERM');
  const { code } = await run.exited;
  await run.outputClosed;
  return { code, stderr: run.stderr() };
}

describe('start-up', () => {
  it('the probe sees Ajv compiling a schema (so its silence below means something)', async () => {
    const { code, stderr } = await runNode(['--import', PROBE, '-e', "new (require('ajv/dist/2020.js').Ajv2020)().compile({ type: 'string' })"]);
    expect(code).toBe(0);
    expect(compilerModules(stderr)).toContain(join('node_modules', 'ajv', 'dist', 'compile', 'index.js'));
  });

  it('the CLI bundle holds no module of the Ajv compiler, only its run-time helpers', () => {
    const inputs = allBundledSources();
    // The account names Ajv's files where the bundle has them (so the silence below means something).
    expect(inputs.filter((path) => /node_modules[\\/]ajv[\\/]dist[\\/]runtime[\\/]/.test(path)).length).toBeGreaterThan(0);
    expect(inputs.some((path) => path.startsWith(join('server', 'cli', 'main.ts')))).toBe(true);
    expect(inputs.filter((path) => AJV_COMPILER.test(path))).toEqual([]);
  });

  it('the built CLI serves and validates without loading a schema compiler', async () => {
    const run = startCli(['--port', '0'], { env: { NODE_OPTIONS: `--import ${PROBE}` } });
    const baseUrl = await waitReady(run);

    // The token exchange's body schema: a 422 naming the missing key.
    const auth = await fetch(`${baseUrl}/v1/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key_secret: 's' }) });
    expect(auth.status).toBe(422);
    expect(((await auth.json()) as { detail: { loc: string[] }[] }).detail[0]!.loc).toEqual(['body', 'key_id']);

    // An admin request body: ihm4001 from admin.schema.json.
    const admin = await fetch(`${baseUrl}/__ih/defaults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seed: 'seven' }) });
    expect(admin.status).toBe(400);
    expect(((await admin.json()) as { error_id: string }).error_id).toBe('ihm4001');

    // A session config frame: ih6001 from stream-client-config.schema.json.
    const client = await connect(`${baseUrl.replace(/^http/, 'ws')}/v1/stream/analyze`);
    await client.waitForType('session.ready');
    client.sendText(JSON.stringify({ include: [1] }));
    expect((await client.waitForType('error')).data.code).toBe('ih6001');
    await client.closeGracefully();
    client.assertAllFramesValid();

    const { code, stderr } = await stopped(run);
    expect(code).toBe(0);
    expect(compilerModules(stderr)).toEqual([]);
  });

  it("ws's native masking (the optional bufferutil) is left out of the bundle and loaded by the served CLI", async () => {
    // Bundled, bufferutil could not find its prebuilt binary and fell back to JavaScript, which
    // unmasks a client's frames byte by byte (every browser masks with a random key).
    expect(allBundledSources().filter((path) => /node_modules[\\/]bufferutil[\\/]/.test(path))).toEqual([]);
    const run = startCli(['--port', '0', '--log-level', 'silent']);
    const baseUrl = await waitReady(run);
    const client = await connect(`${baseUrl.replace(/^http/, 'ws')}/v1/stream/analyze`);
    await client.waitForType('session.ready');
    await client.closeGracefully();
    if (process.platform === 'linux') {
      // The shared objects the process has mapped: the addon's binary among them.
      const maps = await readFile(`/proc/${run.child.pid}/maps`, 'utf8');
      expect(maps).toMatch(/node_modules\/bufferutil\/prebuilds\/[^\n]*\.node/);
    }
    expect((await stopped(run)).code).toBe(0);
  });

  /** The client's session runs the scenario generated from seed 7, and ends cleanly; then the CLI stops with 0. */
  async function servedGeneratedSession(run: Running, baseUrl: string, client: TestClient): Promise<void> {
    await client.waitForType('session.ready');
    const listed = (await (await fetch(`${baseUrl}/__ih/sessions`)).json()) as { sessions: { scenario: string }[] };
    expect(listed.sessions.map((s) => s.scenario)).toEqual(['generated-7']);
    await client.closeGracefully();
    client.assertAllFramesValid();
    expect((await stopped(run)).code).toBe(0);
  }

  it('a random scenario and /metrics asked for the moment the readiness line appears are served', async () => {
    const run = startCli(['--port', '0', '--log-level', 'silent']);
    const baseUrl = await waitReady(run);
    // Both sent at once: the generator and prom-client are loaded after the line, maybe not yet.
    const [client, metrics] = await Promise.all([connect(`${baseUrl.replace(/^http/, 'ws')}/v1/stream/analyze?scenario=random&seed=7`), fetch(`${baseUrl}/metrics`)]);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^ih_mock_binary_messages_total 0$/m);
    await servedGeneratedSession(run, baseUrl, client);
  });

  it("a test's default scenario of `random`, set right after the readiness line, is generated for its session", async () => {
    const run = startCli(['--port', '0', '--log-level', 'silent']);
    const baseUrl = await waitReady(run);
    // The generator is loaded after the line: an upgrade whose session needs it waits for it if it is
    // not there yet (app.ts, runsRandomScenario), here through the test's defaults, not the URL.
    const set = await fetch(`${baseUrl}/__ih/defaults?test_id=t-random`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ scenario: 'random', seed: 7 }) });
    expect(set.status).toBe(200);
    const client = await connect(`${baseUrl.replace(/^http/, 'ws')}/v1/stream/analyze?test_id=t-random`);
    await servedGeneratedSession(run, baseUrl, client);
  });

  describe('the bundled CLI serves what it serves from source', () => {
    let webm: Buffer;
    let mp4: Buffer;
    beforeAll(async () => {
      [webm, mp4] = await Promise.all([readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 }), readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 })]);
    }, 120_000);

    it('a stream session with real media, closed by the client, and an upload', async () => {
      const run = startCli(['--port', '0', '--log-level', 'silent', '--scenario', 'steady', '--timing', 'instant']);
      const baseUrl = await waitReady(run);

      const client = await connect(`${baseUrl.replace(/^http/, 'ws')}/v1/stream/analyze`);
      await client.waitForType('session.ready');
      await client.sendBinary(webm);
      await client.sendBinary(webm);
      client.sendJson({ type: 'session.close' });
      const closed = await client.closed;
      expect(closed.code).toBe(1000);
      expect(client.types().at(-1)).toBe('session.ended');
      expect(client.ofType('signal.detected').length).toBeGreaterThan(0);
      client.assertAllFramesValid();

      const answer = await upload(baseUrl, mp4, { filename: 'clip.mp4', type: 'video/mp4' });
      expect(answer.status).toBe(200);
      expect(answer.body.signals.length).toBeGreaterThan(0);

      expect((await stopped(run)).code).toBe(0);
    });
  });
});

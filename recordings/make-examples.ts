/**
 * Makes the example recordings in this folder by recording ih-mock through ih-mock: an emulator
 * (the upstream) behind `ih-mock record`'s proxy, and a client that does what a real app does.
 * They are labelled as such in their header: they show the format and feed the tests, they are
 * not captures of the live service.
 *
 *   npm run recordings     (needs ffmpeg for the media; rewrites the .jsonl files here)
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import WebSocket from 'ws';
import { createMockServer } from '../server/app.js';
import { RealClock } from '../server/clock.js';
import { packageVersion } from '../server/paths.js';
import { createRecorder } from '../server/record/proxy.js';
import { liveWebmChunks, readMedia } from '../test/support/media.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const API_KEY = 'ih_live_example_key';
const KEY_PAIR = { keyId: 'kid_example', keySecret: 'ks_example_secret' };

interface Example {
  file: string;
  scenario: string;
  label: string;
  /** What the client does through the proxy. */
  client: (base: string) => Promise<void>;
}

const examples: Example[] = [
  {
    file: 'ih-mock-steady-session.jsonl',
    scenario: 'steady',
    label: 'Recorded from ih-mock (scenario steady, seed 7, live timing, the default) through ih-mock record; NOT the live service. A token exchange, a 30-s stream of MediaRecorder-style WebM chunks sent every 1.5 s with both quality includes and a graceful close, then an upload.',
    client: async (base) => {
      const token = await exchangeToken(base);
      await stream(base, token, { include: ["conversation_quality_overall", "conversation_quality_timeline"] }, 1500);
      await upload(base, token);
    },
  },
  {
    file: 'ih-mock-overloaded-session.jsonl',
    scenario: 'overloaded-server',
    label: 'Recorded from ih-mock (scenario overloaded-server, seed 7, instant timing) through ih-mock record; NOT the live service. 180 s of WebM chunks sent at once: windows shed under load, with coverage.dropped.',
    client: async (base) => {
      await stream(base, API_KEY, { include: ['conversation_quality_timeline'] }, 0, 180, '?timing=instant');
    },
  },
];

async function exchangeToken(base: string): Promise<string> {
  const res = await fetch(`${base}/v1/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key_id: KEY_PAIR.keyId, key_secret: KEY_PAIR.keySecret, scopes: ['interhumanai.stream', 'interhumanai.upload'] }) });
  return String(((await res.json()) as { access_token: string }).access_token);
}

async function upload(base: string, token: string): Promise<void> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(await readMedia({ container: "mp4", video: "h264", audio: "aac", seconds: 12 }))], { type: "video/mp4" }), 'call.mp4');
  form.append('include[]', 'conversation_quality_overall');
  form.append('include[]', 'conversation_quality_timeline');
  await (await fetch(`${base}/v1/upload/analyze`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form })).text();
}

/** One session: config, the chunks `paceMs` apart, session.close, wait for the server to close. */
async function stream(base: string, credential: string, config: unknown, paceMs: number, seconds = 30, query = ''): Promise<void> {
  const chunks = await liveWebmChunks(seconds, 3);
  const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/stream/analyze${query}`, { headers: { authorization: `Bearer ${credential}` } });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const closed = new Promise((resolve) => ws.once('close', resolve));
  ws.send(JSON.stringify(config));
  for (const chunk of chunks) {
    ws.send(chunk);
    if (paceMs > 0) await new Promise((r) => setTimeout(r, paceMs));
  }
  ws.send(JSON.stringify({ type: 'session.close' }));
  await closed;
}

for (const example of examples) {
  const upstream = await createMockServer({ scenario: example.scenario, seed: 7, logLevel: 'silent', apiKeys: [API_KEY], keyPairs: [KEY_PAIR] });
  const out = join(HERE, example.file);
  const recorder = createRecorder({ upstream: upstream.baseUrl, out, withMedia: false, label: example.label, recorder: `ih-mock ${packageVersion()}`, host: '127.0.0.1', port: 0, clock: new RealClock(), logger: pino({ level: 'silent' }) });
  const base = await recorder.listen();
  await example.client(base);
  await recorder.close();
  await upstream.close();
  process.stdout.write(`wrote recordings/${example.file}\n`);
}

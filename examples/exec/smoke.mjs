// A smoke test of any client, run under `ih-mock exec`, which gives it the emulator's URLs and a
// key in the environment. Exit code 0 when a stream session opens and the token exchange answers.
import WebSocket from 'ws';

const { IH_STREAM_URL, IH_API_BASE_URL, IH_API_KEY } = process.env;

const token = await fetch(`${IH_API_BASE_URL}/v1/auth`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ key_id: 'key_1', key_secret: 'secret', scopes: ['interhumanai.stream'] }),
});
if (token.status !== 200) throw new Error(`token exchange answered ${token.status}`);

const ws = new WebSocket(IH_STREAM_URL, { headers: { Authorization: `Bearer ${IH_API_KEY}` } });
ws.on('message', (text) => {
  const event = JSON.parse(String(text));
  console.log(`got ${event.type}`);
  if (event.type === 'session.ready') ws.close(1000);
});
ws.on('close', (code) => process.exit(code === 1000 ? 0 : 1));
ws.on('error', (err) => {
  console.error(err.message);
  process.exit(1);
});

// A minimal client for the conformance kit (contract: ../README.md): 31 lines (the stream part is 20), passes every case.
import { appendFileSync, readFileSync } from 'node:fs';
import WebSocket from 'ws';
const env = process.env, spans = new Map(), done = [];
let last = 0;
const note = (o) => env.IH_OBSERVATIONS && appendFileSync(env.IH_OBSERVATIONS, JSON.stringify(o) + '\n');
if (env.IH_TRANSPORT === 'upload') { // POST the file; surface an error, or read the signals (each with "type")
  const form = new FormData();
  form.append('file', new Blob([readFileSync(env.IH_MEDIA_FILE)]), 'call.webm');
  const res = await fetch(`${env.IH_API_BASE_URL}/v1/upload/analyze`, { method: 'POST', headers: { Authorization: `Bearer ${env.IH_API_KEY}` }, body: form }).catch(() => null);
  const body = await res?.json().catch(() => null);
  if (res && !res.ok && body?.error_id) note({ kind: 'error', code: body.error_id });
  note({ kind: 'spans', spans: res?.ok ? body.signals.map((s) => ({ signal_type: s.type, start: s.start, end: s.end })) : [] });
  process.exit(0);
}
const ws = new WebSocket(env.IH_STREAM_URL, { headers: { Authorization: `Bearer ${env.IH_API_KEY}` } });
ws.on('message', (raw) => {
  const { type, data = {} } = JSON.parse(raw);
  note({ kind: 'event', type, data });
  for (const t of [data.start, data.end]) if (typeof t === 'number') last = Math.max(last, t);
  if (type === 'session.ready') {
    const file = readFileSync(env.IH_MEDIA_FILE); // one message if it fits the advertised limit, else the 3-s segments
    for (const part of file.length <= data.max_segment_size_bytes ? [file] : env.IH_MEDIA_SEGMENTS.split('\n').map((p) => readFileSync(p))) ws.send(part);
    ws.send(JSON.stringify({ type: 'session.close' }));
  }
  if (type === 'signal.detected') spans.set(data.signal_type, { signal_type: data.signal_type, start: data.start });
  if (type === 'signal.ended' && spans.has(data.signal_type)) { done.push({ ...spans.get(data.signal_type), end: data.end }); spans.delete(data.signal_type); }
  if (type === 'error') note({ kind: 'error', code: data.code, segment: data.segment });
});
ws.on('error', () => {});
ws.on('close', () => note({ kind: 'spans', spans: [...done, ...[...spans.values()].map((s) => ({ ...s, end: last }))] }));

// A correct Interhuman v1 stream client, run by the conformance kit (contract: ../README.md).
// Connects, waits for session.ready and honours its size limit, sends one config frame, the media
// and {"type":"session.close"}, tracks signal spans, ignores unknown event types, surfaces errors,
// and reports what it observed to IH_OBSERVATIONS. Never reconnects.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';

/** Run one session with the contract's environment; resolves with the exit code (0: handled). */
export function runReference(env = process.env) {
  return new Promise((resolve) => {
    const KNOWN = new Set(['session.ready', 'session.updated', 'signal.detected', 'signal.updated', 'signal.ended', 'engagement.updated',
      'conversation_quality.updated', 'error', 'session.closing', 'session.ended', 'coverage.dropped']);
    const log = (...args) => console.error(`[${env.IH_CASE ?? 'reference'}]`, ...args);
    if (env.IH_OBSERVATIONS) writeFileSync(env.IH_OBSERVATIONS, '');
    const observe = (o) => env.IH_OBSERVATIONS && appendFileSync(env.IH_OBSERVATIONS, `${JSON.stringify(o)}\n`);

    const spans = [];          // every signal span, in the order detected: { signal_type, start, end? }
    const active = new Map();  // signal_type -> its span while active
    let mediaTime = 0;         // the latest media second any event told us about
    let ready = false, ended = false, errored = false;

    const ws = new WebSocket(env.IH_STREAM_URL, { headers: { Authorization: `Bearer ${env.IH_API_KEY}` } });

    async function stream(limit) { // the config frame, the media within `limit` bytes a message, session.close
      ws.send(JSON.stringify({ include: ['conversation_quality_overall', 'conversation_quality_timeline'] }));
      const file = readFileSync(env.IH_MEDIA_FILE);
      const segments = (env.IH_MEDIA_SEGMENTS ?? '').split('\n').filter(Boolean);
      const parts = file.length <= limit || segments.length === 0 ? [file] : segments.map((p) => readFileSync(p));
      for (const [i, part] of parts.entries()) {
        if (ws.readyState !== WebSocket.OPEN) return; // the server closed: stop sending
        if (part.length > limit) {
          log(`segment ${i + 1} is ${part.length} bytes, over max_segment_size_bytes ${limit}: skipped`);
          observe({ kind: 'error', code: 'client.segment-too-large', segment: i + 1, bytes: part.length, max_segment_size_bytes: limit });
          continue;
        }
        await new Promise((resolve) => ws.send(part, resolve));
      }
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'session.close' }));
    }

    ws.on('message', (raw, isBinary) => {
      let event;
      try { event = isBinary ? null : JSON.parse(raw); } catch { /* not JSON */ }
      if (typeof event?.type !== 'string') return log('ignoring a frame that is not an event');
      const { type, data = {} } = event;
      observe({ kind: 'event', type, data });
      if (!KNOWN.has(type)) return log(`ignoring unknown event type ${type}`);
      const times = [data.start, data.end, ...(data.timeline ?? []).map((p) => p.end)];
      for (const t of times) if (typeof t === 'number') mediaTime = Math.max(mediaTime, t);
      switch (type) {
        case 'session.ready':
          ready = true;
          stream(data.max_segment_size_bytes);
          break;
        case 'signal.detected':
        case 'signal.updated': // an update keeps the span's start
          if (!active.has(data.signal_type)) {
            const span = { signal_type: data.signal_type, start: data.start };
            active.set(span.signal_type, span);
            spans.push(span);
          }
          break;
        case 'signal.ended':
          if (active.has(data.signal_type)) active.get(data.signal_type).end = data.end;
          active.delete(data.signal_type);
          break;
        case 'error':
          errored = true;
          log(`error ${data.code}${data.segment == null ? '' : ` (segment ${data.segment})`}: ${data.message}`);
          observe({ kind: 'error', code: data.code, ...(data.segment == null ? {} : { segment: data.segment }) });
          break;
        case 'session.ended':
          ended = true;
          break;
      }
    });

    ws.on('error', (err) => log(`connection error: ${err.message}`));
    ws.on('close', (code) => {
      // Signals still active when the connection ended end at the last media time we knew of.
      for (const span of active.values()) span.end = Math.max(mediaTime, span.start);
      observe({ kind: 'spans', spans });
      // Explained: a graceful end, a close after an error envelope, or a network drop mid-session.
      const explained = (ended && code === 1000) || errored || (ready && code === 1006);
      log(`connection closed with ${code}: ${explained ? 'session handled' : 'giving up'}`);
      resolve(explained ? 0 : 1);
    });
  });
}

// As a command (the kit runs it once per case): run, then exit with the session's code.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runReference().then((code) => process.exit(code));

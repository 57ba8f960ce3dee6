// The reference client's session (contract: ../README.md), with hook points: run({}) is the correct
// client (reference.mjs), and each broken-* client overrides one hook to reproduce one bug real clients
// have had. Stream (IH_TRANSPORT=stream, the default): connects, waits for session.ready and honours
// its size limit, sends one config frame, the media and {"type":"session.close"}, tracks signal spans,
// ignores unknown event types, surfaces errors. Upload (IH_TRANSPORT=upload): posts the media file as
// multipart/form-data with both include[] flags, waits for the answer however long it takes, retries a
// 429 (ih3001, ih3002), a 5xx or a cut connection after Retry-After (else 1 s) at most 3 times, and
// reads the signals' "type". Both report what they observed to IH_OBSERVATIONS. run() resolves with
// the exit code.
//
// Hooks (all optional):
//   config                  the config frame to send (reference: the bare {include:[…]})
//   maxBytes(ready)         the size limit to honour, from session.ready's data (reference: max_segment_size_bytes)
//   startOnOpen             send config and media as soon as the socket opens, before session.ready
//   signals(data)           the signal records carried by a signal.* event's data (reference: [data], the flat shape)
//   onUnknown(type)         called for an event type the client does not know (reference: log and carry on)
//   implicitEnd             close spans still active at disconnect (reference: true)
//   onePerType              keep one span per signal type, so a re-detected type overwrites its earlier span
//                           (reference: false, every detection is a span of its own)
//   errorObservation(data)  what it reports for an error event (reference: its code and segment)
//   endSession(ws)          how it ends the session after its media (reference: sends {"type":"session.close"})
//   silenceTimeoutMs        after its media, give up (close the socket) when nothing arrives for this long
//                           (reference: never; wait for session.ended)
//   reconnect(code, n)      after the n-th connection closed with `code` (1006 for a refused upgrade): true
//                           to connect again at once, a number of ms to wait first, false to stop (reference: never)
//   authorization(key)      the Authorization header for a key, both transports (reference: `Bearer ${key}`)
//   uploadSignalType(s)     the type of one signal of an upload answer (reference: s.type)
//   includeField            the multipart field of the include flags (reference: "include[]")
//   uploadTimeoutMs         give up on an upload's answer after this long (reference: never)
//   retryUpload(answer, n)  after the n-th upload got `answer` ({status, code, retryAfter}; status 0: no
//                           answer): ms to wait before uploading again, or null to stop (reference above)
//   log(...args)            where it logs (reference: stderr; in-process tests pass a quiet one)
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';

const KNOWN = new Set(['session.ready', 'session.updated', 'signal.detected', 'signal.updated', 'signal.ended', 'engagement.updated',
  'conversation_quality.updated', 'error', 'session.closing', 'session.ended', 'coverage.dropped']);
const CONFIG = { include: ['conversation_quality_overall', 'conversation_quality_timeline'] };

/** Run one session with `hooks` and exit with its code, when the module at `moduleUrl` is the command being run. */
export function runAsCommand(moduleUrl, hooks) {
  if (process.argv[1] && moduleUrl === pathToFileURL(process.argv[1]).href) run(hooks).then((code) => process.exit(code));
}

export function run(hooks = {}, env = process.env) {
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  const log = (...args) => (hooks.log ?? console.error)(`[${env.IH_CASE ?? hooks.name ?? 'client'}]`, ...args);
  if (env.IH_OBSERVATIONS) writeFileSync(env.IH_OBSERVATIONS, '');
  const observe = (o) => env.IH_OBSERVATIONS && appendFileSync(env.IH_OBSERVATIONS, `${JSON.stringify(o)}\n`);
  const spans = []; // every signal span, in the order detected, across connections
  let connections = 0;
  if (env.IH_TRANSPORT === 'upload') return upload(hooks, env, log, observe);

  function connect() {
    connections++;
    const active = new Map();
    let mediaTime = 0;
    let ready = false, ended = false, errored = false, failed = false;
    const ws = new WebSocket(env.IH_STREAM_URL, { headers: { Authorization: authorization(hooks, env) } });
    let silence; // the silenceTimeoutMs timer, once the media is out
    const armSilence = () => {
      if (!hooks.silenceTimeoutMs) return;
      clearTimeout(silence);
      silence = setTimeout(() => {
        log(`nothing for ${hooks.silenceTimeoutMs} ms: giving up`);
        ws.close(1000);
      }, hooks.silenceTimeoutMs);
    };

    async function stream(limit) { // the config frame, the media within `limit` bytes a message, session.close
      ws.send(JSON.stringify(hooks.config ?? CONFIG));
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
      if (ws.readyState !== WebSocket.OPEN) return;
      if (hooks.endSession) hooks.endSession(ws);
      else ws.send(JSON.stringify({ type: 'session.close' }));
      armSilence();
    }

    if (hooks.startOnOpen) ws.on('open', () => stream(Infinity));

    function handle(raw, isBinary) {
      let event;
      try { event = isBinary ? null : JSON.parse(raw); } catch { /* not JSON */ }
      if (typeof event?.type !== 'string') return log('ignoring a frame that is not an event');
      const { type, data = {} } = event;
      observe({ kind: 'event', type, data });
      if (silence) armSilence();
      if (!KNOWN.has(type)) {
        hooks.onUnknown?.(type);
        return log(`ignoring unknown event type ${type}`);
      }
      const times = [data.start, data.end, ...(data.timeline ?? []).map((p) => p.end)];
      for (const t of times) if (typeof t === 'number') mediaTime = Math.max(mediaTime, t);
      const signals = type.startsWith('signal.') ? (hooks.signals ?? ((d) => [d]))(data) : [];
      switch (type) {
        case 'session.ready':
          ready = true;
          if (!hooks.startOnOpen) stream(hooks.maxBytes ? hooks.maxBytes(data) : data.max_segment_size_bytes);
          break;
        case 'signal.detected':
        case 'signal.updated': // an update keeps the span's start
          for (const s of signals) {
            if (active.has(s.signal_type)) continue;
            const span = { signal_type: s.signal_type, start: s.start };
            active.set(span.signal_type, span);
            const earlier = hooks.onePerType ? spans.findIndex((x) => x.signal_type === s.signal_type) : -1;
            if (earlier >= 0) spans[earlier] = span;
            else spans.push(span);
          }
          break;
        case 'signal.ended':
          for (const s of signals) {
            if (active.has(s.signal_type)) active.get(s.signal_type).end = s.end;
            active.delete(s.signal_type);
          }
          break;
        case 'error':
          errored = true;
          log(`error ${data.code}${data.segment == null ? '' : ` (segment ${data.segment})`}: ${data.message}`);
          observe(hooks.errorObservation ? hooks.errorObservation(data) : { kind: 'error', code: data.code, ...(data.segment == null ? {} : { segment: data.segment }) });
          break;
        case 'session.ended':
          ended = true;
          break;
      }
    }

    ws.on('message', (raw, isBinary) => {
      if (failed) return;
      try {
        handle(raw, isBinary);
      } catch (err) {
        // The client's own bug: stop processing, close the socket, exit 1 (like an uncaught exception).
        failed = true;
        log(`giving up: ${err.message}`);
        ws.close();
      }
    });

    ws.on('error', (err) => log(`connection error: ${err.message}`));
    ws.on('close', (code) => {
      clearTimeout(silence);
      if (failed) return finish(1);
      // Signals still active when the connection ended end at the last media time we knew of.
      if (hooks.implicitEnd !== false) for (const span of active.values()) span.end = Math.max(mediaTime, span.start);
      const again = hooks.reconnect?.(code, connections);
      if (again !== undefined && again !== false && again !== null) {
        const wait = again === true ? 0 : again;
        log(`connection closed with ${code}: reconnecting in ${wait} ms (connection ${connections + 1})`);
        return void setTimeout(connect, wait);
      }
      observe({ kind: 'spans', spans });
      // Explained: a graceful end, a close after an error envelope, or a network drop mid-session.
      const explained = (ended && code === 1000) || errored || (ready && code === 1006);
      log(`connection closed with ${code}: ${explained ? 'session handled' : 'giving up'}`);
      finish(explained ? 0 : 1);
    });
  }

  connect();
  return finished;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const authorization = (hooks, env) => (hooks.authorization ?? ((key) => `Bearer ${key}`))(env.IH_API_KEY);

/** Retry a 429 for rate or concurrency, a 5xx or a cut connection after Retry-After (else 1 s), 3 times at most. */
function referenceRetry(answer, attempt) {
  const transient = answer.status === 0 || answer.status >= 500 || (answer.status === 429 && (answer.code === 'ih3001' || answer.code === 'ih3002'));
  if (!transient || attempt > 3) return null;
  return answer.retryAfter !== null ? answer.retryAfter * 1000 : 1000;
}

async function upload(hooks, env, log, observe) {
  const file = readFileSync(env.IH_MEDIA_FILE);
  let spans = [];
  let exitCode = 1;
  for (let attempt = 1; ; attempt++) {
    const form = new FormData();
    form.append('file', new Blob([file], { type: 'video/webm' }), 'call.webm');
    for (const flag of CONFIG.include) form.append(hooks.includeField ?? 'include[]', flag);
    let answer;
    try {
      const signal = hooks.uploadTimeoutMs ? AbortSignal.timeout(hooks.uploadTimeoutMs) : undefined;
      const res = await fetch(`${env.IH_API_BASE_URL}/v1/upload/analyze`, { method: 'POST', headers: { Authorization: authorization(hooks, env) }, body: form, signal });
      const body = await res.json().catch(() => null);
      const retryAfter = res.headers.get('retry-after')?.trim() ?? ''; // whole seconds; anything else: the 1-s default
      answer = { status: res.status, code: body?.error_id ?? null, retryAfter: /^\d+$/.test(retryAfter) ? Number(retryAfter) : null, body };
    } catch (err) {
      answer = { status: 0, code: null, retryAfter: null, body: null, problem: err.name === 'TimeoutError' ? `no answer within ${hooks.uploadTimeoutMs} ms` : err.message };
    }
    if (answer.status === 200) {
      const typeOf = hooks.uploadSignalType ?? ((s) => s.type);
      spans = answer.body.signals.map((s) => ({ signal_type: typeOf(s), start: s.start, end: s.end }));
      log(`upload ${attempt}: ${spans.length} signals`);
      exitCode = 0;
      break;
    }
    const what = answer.status === 0 ? answer.problem : `${answer.status} ${answer.code ?? ''}`.trim();
    const wait = (hooks.retryUpload ?? referenceRetry)(answer, attempt);
    if (wait === null) {
      log(`upload ${attempt}: ${what}: giving up`);
      if (answer.code) observe({ kind: 'error', code: answer.code });
      exitCode = answer.code ? 0 : 1; // an error surfaced is a handled upload; no answer at all is not
      break;
    }
    log(`upload ${attempt}: ${what}: retrying in ${wait} ms`);
    await sleep(wait);
  }
  observe({ kind: 'spans', spans });
  return exitCode;
}

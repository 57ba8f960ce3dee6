// @ts-check
/**
 * The live dashboard of ih-mock (docs/control-plane.md#the-dashboard), served with dashboard.html and
 * dashboard.css by server/admin/dashboard.ts. Plain JavaScript loaded as an ES module straight from
 * the package (like timeline.js beside it): no build step, nothing from a CDN.
 *
 * Everything comes from the admin API next to this page (`/__ih/…`), with the browser's fetch:
 *   - the journal's event stream (GET /__ih/journal/stream) keeps the page live: session entries
 *     refresh the sessions list at once, frames refresh its counters (at most once a second), uploads
 *     are listed as they are answered, and the selected session's frames draw its timeline;
 *   - the selected session's history comes from GET /__ih/journal?session=…, then the stream;
 *   - the inject forms POST /__ih/sessions/{id}/inject;
 *   - an upload's analysis (kept in its journal entry) is drawn when its row is clicked.
 *
 * Why fetch and not EventSource: EventSource cannot send headers, and the admin token travels in
 * X-IH-Admin-Token only. The page takes the token from its address's fragment (`#token=…`, which a
 * browser never sends to a server), keeps it in this tab's sessionStorage and removes it from the
 * address bar; a test id (`#test_id=…`) scopes every call like X-IH-Test-Id.
 *
 * The timeline is drawn by server/ui/timeline.js, the renderer of the HTML conformance report.
 * Every text that came from a client or the server is set as text, never as markup.
 */
import { createTimelineBuilder, renderLegend, renderTimeline, timelineFromAnalysis, TIMELINE_CSS, TIMELINE_DEFS } from './timeline.js';

/** The admin API's root: this page lives at /__ih/ui/. */
const API = new URL('../', location.href);
const TOKEN_KEY = 'ih-mock-admin-token';
/** The frames log keeps this many rows (the timeline keeps everything). */
const MAX_FRAME_ROWS = 2000;
const MAX_UPLOAD_ROWS = 200;
/** Counters are refreshed at most this often while frames flow (ms); session openings and ends at once. */
const COUNTERS_REFRESH_MS = 1000;
/** The timeline is drawn at its box's width, at least this (px). */
const MIN_TIMELINE_WIDTH = 560;
const MIN_UPLOAD_TIMELINE_WIDTH = 420;
/** Before reconnecting a dropped event stream (ms). */
const RECONNECT_MS = 1000;

const $ = (/** @type {string} */ selector) => /** @type {HTMLElement} */ (document.querySelector(selector));

// ---- Address: token, test id, selected session ---------------------------------------------------

const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.has('token')) {
  sessionStorage.setItem(TOKEN_KEY, fragment.get('token') ?? '');
  fragment.delete('token');
}
const auth = { token: sessionStorage.getItem(TOKEN_KEY), testId: fragment.get('test_id') };
writeFragment();

function writeFragment() {
  const text = fragment.toString();
  history.replaceState(null, '', `${location.pathname}${location.search}${text ? `#${text}` : ''}`);
}

// ---- The admin API -------------------------------------------------------------------------------

/** @param {Record<string, string>} [extra] */
function headers(extra = {}) {
  /** @type {Record<string, string>} */
  const h = { ...extra };
  if (auth.token) h['X-IH-Admin-Token'] = auth.token;
  if (auth.testId) h['X-IH-Test-Id'] = auth.testId;
  return h;
}

class ApiError extends Error {
  /** @param {number} status @param {string | null} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** One admin call; rejects with the admin error's code and message. @param {string} method @param {string} path @param {unknown} [body] */
async function api(method, path, body) {
  const res = await fetch(new URL(path, API), {
    method,
    headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    body: body === undefined ? null : JSON.stringify(body),
    cache: 'no-store',
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: reported below
  }
  if (!res.ok) throw failure(res.status, json);
  return json;
}

/** @param {number} status @param {any} body */
function failure(status, body) {
  const err = new ApiError(status, body?.error_id ?? null, body?.message ?? `HTTP ${status}`);
  if (status === 401) askForToken(err);
  return err;
}

function askForToken(/** @type {ApiError} */ err) {
  const form = /** @type {HTMLFormElement} */ ($('#token-form'));
  form.hidden = false;
  showProblem(`${err.code}: ${err.message}`);
}

$('#token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, /** @type {HTMLInputElement} */ ($('#token-input')).value);
  location.reload();
});

function showProblem(/** @type {string | null} */ text) {
  const p = $('#problem');
  p.hidden = text === null;
  p.textContent = text ?? '';
}

// ---- State ---------------------------------------------------------------------------------------

/**
 * @typedef {object} Selected The session shown in detail.
 * @property {string} id
 * @property {ReturnType<typeof createTimelineBuilder>} builder
 * @property {number} fedUpTo the last journal seq folded in
 * @property {boolean} loading its history is being read; stream entries wait in `pending`
 * @property {any[]} pending
 * @property {number} frames rows written to the log
 */
const state = {
  /** The newest journal seq this page has seen: the event stream resumes after it. */
  cursor: 0,
  /** @type {any[]} */
  sessions: [],
  /** @type {Map<number, any>} upload entries by seq */
  uploads: new Map(),
  /** @type {Selected | null} */
  selected: null,
  /** @type {number | null} the seq of the upload shown under the list */
  upload: null,
};

// ---- Start ---------------------------------------------------------------------------------------

document.head.insertAdjacentHTML('beforeend', `<style>${TIMELINE_CSS}</style>`);
document.body.insertAdjacentHTML('afterbegin', TIMELINE_DEFS);
$('#legend').innerHTML = renderLegend({ live: true, client: false });
window.addEventListener('resize', () => scheduleDraw());
document.querySelectorAll('#inject form').forEach((form) => form.addEventListener('submit', (ev) => inject(/** @type {SubmitEvent} */ (ev), /** @type {HTMLFormElement} */ (form))));

void start();

async function start() {
  let status;
  try {
    status = await refreshStatus();
  } catch (err) {
    showProblem(err instanceof ApiError ? `${err.code ?? err.status}: ${err.message}` : `ih-mock cannot be reached: ${String(err)}`);
    return;
  }
  state.cursor = status.journal.next;
  await refreshSessions();
  const wanted = fragment.get('session');
  if (wanted) void select(wanted);
  if (status.journal.capacity === 0) {
    showProblem('The journal is off (--journal-size 0): the sessions are listed, but nothing is followed live.');
    return;
  }
  await loadUploads();
  void follow();
}

/** GET /__ih/ into the status line; resolves with the status. */
async function refreshStatus() {
  const status = await api('GET', '');
  $('#status').textContent = `ih-mock ${status.version} · start-up scenario ${status.scenario} · server seed ${status.server_seed} · admin ${status.admin_auth === 'loopback' ? 'from this machine' : 'with token'}${auth.testId ? ` · test ${auth.testId}` : ''} · journal ${status.journal.size}/${status.journal.capacity}`;
  return status;
}

// ---- The event stream ----------------------------------------------------------------------------

function setLive(/** @type {boolean} */ live) {
  const badge = $('#live');
  badge.dataset.live = String(live);
  badge.textContent = live ? 'live' : 'reconnecting…';
}

/** Follows GET /__ih/journal/stream for ever, reconnecting after `state.cursor` when it drops. */
async function follow() {
  for (;;) {
    try {
      const res = await fetch(new URL(`journal/stream?since=${state.cursor}`, API), { headers: headers({ Accept: 'text/event-stream' }), cache: 'no-store' });
      if (!res.ok || !res.body) throw failure(res.status, await res.json().catch(() => null));
      setLive(true);
      showProblem(null);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
          onServerSentEvent(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
        }
      }
    } catch (err) {
      if (err instanceof ApiError) showProblem(`The journal stream answered ${err.status} ${err.code ?? ''}: ${err.message}`);
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
        setLive(false);
        return; // retrying cannot help (a token is needed, or the journal is off)
      }
    }
    setLive(false);
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    await resync();
  }
}

/**
 * Before reconnecting: a server started again counts seq from 1, so a cursor beyond its newest entry
 * would wait for entries it already has; follow it from its start then. (Unreachable: try again later.)
 */
async function resync() {
  try {
    const status = await refreshStatus();
    if (status.journal.next < state.cursor) {
      state.cursor = 0;
      state.uploads.clear();
      state.upload = null;
      $('#upload-detail').hidden = true;
      addUploads([]);
      if (state.selected) void select(state.selected.id);
    }
    await refreshSessions();
  } catch {
    // still unreachable: the next attempt says so
  }
}

/** One event of the stream (`event:`/`data:` lines; comments start with a colon). @param {string} block */
function onServerSentEvent(block) {
  let type = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  if (type === 'gap') scheduleSessions(0); // entries evicted before they were read: at least the list is right
  if (type !== 'entry') return;
  const entry = JSON.parse(data.join('\n'));
  state.cursor = Math.max(state.cursor, entry.seq);
  onEntry(entry);
}

/** @param {any} entry a JournalEntry */
function onEntry(entry) {
  if (entry.kind === 'session') scheduleSessions(0);
  else if (entry.kind === 'frame' || (entry.kind === 'admin' && entry.session)) scheduleSessions(COUNTERS_REFRESH_MS);
  if (entry.kind === 'upload') addUploads([entry]);
  const sel = state.selected;
  if (sel && entry.session === sel.id) {
    if (sel.loading) sel.pending.push(entry);
    else feed(sel, entry);
    scheduleDraw();
  }
}

// ---- Sessions ------------------------------------------------------------------------------------

let sessionsTimer = /** @type {ReturnType<typeof setTimeout> | null} */ (null);
let sessionsDue = Infinity;
let refreshing = /** @type {Promise<void> | null} */ (null);
let refreshAgain = false;

/** Refresh the sessions list within `ms` (an earlier request wins). @param {number} ms */
function scheduleSessions(ms) {
  const due = performance.now() + ms;
  if (sessionsTimer !== null && sessionsDue <= due) return;
  if (sessionsTimer !== null) clearTimeout(sessionsTimer);
  sessionsDue = due;
  sessionsTimer = setTimeout(() => {
    sessionsTimer = null;
    sessionsDue = Infinity;
    void refreshSessions();
  }, ms);
}

async function refreshSessions() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      try {
        const [list] = await Promise.all([api('GET', 'sessions'), refreshStatus()]);
        state.sessions = list.sessions;
        drawSessions();
      } catch (err) {
        showProblem(`Listing the sessions failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    } while (refreshAgain);
  })();
  try {
    await refreshing;
  } finally {
    refreshing = null;
  }
}

/** HH:MM:SS.mmm of a server-clock ISO time (ms: false drops them). @param {string | null} iso */
const clockTime = (iso, ms = true) => (iso ? iso.slice(11, ms ? 23 : 19) : '');
const seconds = (/** @type {number} */ s) => (Math.round(s * 10) / 10).toFixed(1);

/** @param {string} text @param {string} [cls] @param {string} [title] */
function cell(text, cls, title) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  if (title) td.title = title;
  return td;
}

function stateBadge(/** @type {string} */ s) {
  const span = document.createElement('span');
  span.className = `state ${s}`;
  span.textContent = s;
  return span;
}

function drawSessions() {
  const rows = [...state.sessions].sort((a, b) => (a.opened_at < b.opened_at ? 1 : a.opened_at > b.opened_at ? -1 : 0));
  const body = /** @type {HTMLTableSectionElement} */ ($('#sessions tbody'));
  body.replaceChildren(
    ...rows.map((s) => {
      const tr = document.createElement('tr');
      tr.dataset.sessionId = s.id;
      tr.dataset.state = s.state;
      tr.setAttribute('aria-selected', String(state.selected?.id === s.id));
      const status = document.createElement('td');
      status.append(stateBadge(s.state));
      if (s.end_reason) status.title = `ended: ${s.end_reason}`;
      tr.append(
        cell(s.id.slice(0, 8), 'id', `${s.id}${s.test_id ? ` (test ${s.test_id})` : ''}`),
        status,
        cell(s.scenario),
        cell(s.seed === null ? '—' : String(s.seed), 'num', s.seed === null ? `derived from server seed ${s.server_seed}` : ''),
        cell(String(s.stats.binary_messages), 'num'),
        cell(seconds(s.stats.received_seconds), 'num'),
        cell(String(s.stats.events_sent), 'num'),
        cell(clockTime(s.opened_at, false), '', s.opened_at),
      );
      tr.tabIndex = 0;
      tr.addEventListener('click', () => void select(s.id));
      tr.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') void select(s.id);
      });
      return tr;
    }),
  );
  const open = rows.filter((s) => s.state !== 'ended').length;
  $('#session-count').textContent = rows.length ? `${open} open, ${rows.length - open} ended` : '';
  $('#no-sessions').hidden = rows.length > 0;
  drawDetailHeader();
}

// ---- Uploads -------------------------------------------------------------------------------------

async function loadUploads() {
  try {
    const page = await api('GET', `journal?kind=upload&limit=${MAX_UPLOAD_ROWS}`);
    addUploads(page.entries);
  } catch (err) {
    showProblem(`Reading the uploads failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** @param {any[]} entries */
function addUploads(entries) {
  for (const e of entries) state.uploads.set(e.seq, e);
  const rows = [...state.uploads.values()].sort((a, b) => b.seq - a.seq).slice(0, MAX_UPLOAD_ROWS);
  $('#uploads tbody').replaceChildren(
    ...rows.map((e) => {
      const tr = document.createElement('tr');
      const status = e.detail?.status ?? null;
      tr.dataset.status = String(status);
      tr.append(
        cell(clockTime(e.time)),
        cell(status === null ? 'cut' : String(status), status !== 200 ? 'status-error' : '', status === null ? 'the connection was cut with no answer' : ''),
        cell(e.code ?? ''),
        cell(e.bytes === null ? '' : String(e.bytes), 'num'),
        cell(String(e.session ?? '').slice(0, 8), '', String(e.session ?? '')),
      );
      tr.dataset.seq = String(e.seq);
      tr.tabIndex = 0;
      tr.setAttribute('aria-selected', String(state.upload === e.seq));
      tr.addEventListener('click', () => showUpload(e));
      tr.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') showUpload(e);
      });
      return tr;
    }),
  );
  $('#no-uploads').hidden = rows.length > 0;
}

/** An upload's answer under the list: its analysis drawn by the same renderer (timelineFromAnalysis), or its error. @param {any} e */
function showUpload(e) {
  state.upload = e.seq;
  $('#uploads tbody').querySelectorAll('tr').forEach((tr) => tr.setAttribute('aria-selected', String(tr.dataset.seq === String(e.seq))));
  const box = $('#upload-detail');
  box.hidden = false;
  $('#upload-id').textContent = String(e.session ?? '');
  const chart = $('#upload-timeline');
  const facts = $('#upload-facts');
  /** @type {any} */
  let answer = null;
  try {
    answer = typeof e.detail?.body === 'string' ? JSON.parse(e.detail.body) : (e.detail?.body ?? null);
  } catch {
    // not JSON: said below
  }
  const status = e.detail?.status ?? null;
  if (status === 200 && answer) {
    facts.textContent = `${e.bytes ?? '?'} bytes · 200`;
    chart.innerHTML = renderTimeline(timelineFromAnalysis(answer), { width: Math.max(MIN_UPLOAD_TIMELINE_WIDTH, Math.floor(chart.clientWidth)), label: `analysis of upload ${e.session}` });
  } else {
    facts.textContent =
      status === null ? 'cut with no answer'
      : status === 200 ? 'answered 200; the analysis is not kept (larger than the journal keeps)'
      : `${status} ${answer?.error_id ?? e.code ?? ''}: ${answer?.message ?? ''}`;
    chart.replaceChildren();
  }
}

// ---- One session: timeline, frames, inject -------------------------------------------------------

/** @param {string} id */
async function select(id) {
  /** @type {Selected} */
  const sel = { id, builder: createTimelineBuilder(), fedUpTo: 0, loading: true, pending: [], frames: 0 };
  state.selected = sel;
  fragment.set('session', id);
  writeFragment();
  $('#frames tbody').replaceChildren();
  $('#detail').hidden = false;
  $('#inject-result').textContent = '';
  document.querySelectorAll('#sessions tbody tr').forEach((tr) => tr.setAttribute('aria-selected', String(/** @type {HTMLElement} */ (tr).dataset.sessionId === id)));
  drawDetailHeader();
  draw();
  try {
    // Its history, page by page; what the stream brings meanwhile waits in `pending`.
    for (let since = 0; ; ) {
      const page = await api('GET', `journal?session=${encodeURIComponent(id)}&since=${since}&limit=10000`);
      if (state.selected !== sel) return;
      for (const e of page.entries) feed(sel, e);
      since = page.next;
      if (!page.more) break;
    }
  } catch (err) {
    showProblem(`Reading the journal of ${id} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  sel.loading = false;
  for (const e of sel.pending.splice(0)) feed(sel, e);
  draw();
}

/** Fold one journal entry of the selected session into its timeline and its frames log. @param {Selected} sel @param {any} e */
function feed(sel, e) {
  if (e.seq <= sel.fedUpTo) return;
  sel.fedUpTo = e.seq;
  if (e.kind === 'frame' && e.direction === 'out' && e.event) sel.builder.server(e.event, e.seq);
  else if (e.kind === 'frame' && e.direction === 'in' && e.type === 'binary' && e.verdict !== 'ignored') sel.builder.segment(e.bytes ?? 0, e.media_seconds, e.seq);
  appendFrame(sel, e);
}

/** @param {Selected} sel @param {any} e */
function appendFrame(sel, e) {
  const tr = document.createElement('tr');
  tr.dataset.seq = String(e.seq);
  tr.dataset.type = e.type;
  tr.className = `${e.direction ?? e.kind}${e.code ? ' error' : ''}`;
  const arrow = e.direction === 'in' ? '→' : e.direction === 'out' ? '←' : '•';
  const title = e.direction === 'in' ? 'from the client' : e.direction === 'out' ? 'from ih-mock' : e.kind;
  const detail = describe(e);
  tr.append(cell(String(e.seq), 'num'), cell(clockTime(e.time)), cell(arrow, '', title), cell(e.type), cell(detail, 'detail', detail));
  const body = $('#frames tbody');
  body.append(tr);
  while (body.childElementCount > MAX_FRAME_ROWS) body.firstElementChild?.remove();
  sel.frames += 1;
  $('#frame-count').textContent = `${sel.frames} entries`;
  const scroll = $('#frames-scroll');
  scroll.scrollTop = scroll.scrollHeight;
}

/** The frames log's detail column. @param {any} e */
function describe(e) {
  const d = e.event?.data ?? {};
  const at = e.media_time === null || e.media_time === undefined ? '' : ` @ ${seconds(e.media_time)} s`;
  if (e.type === 'binary') return `#${e.segment} · ${e.bytes} B · +${seconds(e.media_seconds ?? 0)} s · ${e.verdict}${e.code ? ` ${e.code}` : ''}`;
  if (e.type === 'error') return `${d.code}${d.segment ? ` (segment ${d.segment})` : ''}: ${d.message ?? ''}`;
  if (e.type.startsWith('signal.')) return `${e.signal_type}${d.probability ? ` ${d.probability}` : ''}${at}`;
  if (e.type === 'engagement.updated') return `${d.state}${at}`;
  if (e.type === 'coverage.dropped') return (d.ranges ?? []).map((/** @type {any} */ r) => `[${seconds(r.start)}, ${seconds(r.end)})`).join(' ');
  if (e.type === 'close') return `${e.detail?.code ?? ''} ${e.detail?.reason ?? ''}`;
  if (e.type === 'text.invalid' || e.code) return e.code ?? '';
  if (e.type === 'session.opened') return `${e.detail?.scenario ?? ''}${e.detail?.seed !== null && e.detail?.seed !== undefined ? ` seed ${e.detail.seed}` : ''}`;
  if (e.type === 'session.ended') return String(e.detail?.end_reason ?? e.detail?.reason ?? '');
  if (e.kind === 'admin') return JSON.stringify(e.detail?.faults ?? e.detail ?? '');
  return e.bytes ? `${e.bytes} B` : '';
}

function drawDetailHeader() {
  const sel = state.selected;
  if (!sel) return;
  const s = state.sessions.find((x) => x.id === sel.id);
  $('#detail-id').textContent = sel.id;
  $('#detail-state').replaceChildren(stateBadge(s?.state ?? 'unknown'));
  $('#detail').dataset.state = s?.state ?? 'unknown';
  $('#detail-facts').textContent = s
    ? [
        `scenario ${s.scenario}`,
        `seed ${s.seed ?? `— (server seed ${s.server_seed})`}`,
        `timing ${s.timing.mode}`,
        s.test_id ? `test ${s.test_id}` : null,
        `opened ${clockTime(s.opened_at)}`,
        s.ended_at ? `ended ${clockTime(s.ended_at)} (${s.end_reason})` : null,
        `${s.stats.binary_messages} segments, ${seconds(s.stats.received_seconds)} s received, ${s.stats.windows_analyzed} windows analyzed, ${s.stats.windows_shed} shed, ${s.stats.events_sent} events sent`,
        s.faults_injected ? `${s.faults_injected} faults injected` : null,
      ]
        .filter(Boolean)
        .join(' · ')
    : 'not in the sessions list (ended too long ago, or in another test scope)';
  const ended = !s || s.state === 'ended';
  $('#inject').setAttribute('aria-disabled', String(ended));
  document.querySelectorAll('#inject button').forEach((button) => (/** @type {HTMLButtonElement} */ (button).disabled = ended));
}

let drawPending = false;
function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    draw();
  });
}

/** The selected session's timeline, redrawn from the builder's data (cheap: one SVG string). */
function draw() {
  const sel = state.selected;
  const box = $('#timeline');
  if (!sel) return;
  // Drawn at the box's own width, so its text is not scaled down.
  const width = Math.max(MIN_TIMELINE_WIDTH, Math.floor(box.clientWidth));
  box.innerHTML = renderTimeline(sel.builder.data(), { width, label: `timeline of session ${sel.id}`, emptyText: "nothing on the media-time axis yet: waiting for the client's media" });
  box.dataset.seq = String(sel.fedUpTo);
}

/** An inject form: its fields make one fault of the scenario vocabulary. @param {SubmitEvent} ev @param {HTMLFormElement} form */
async function inject(ev, form) {
  ev.preventDefault();
  const sel = state.selected;
  if (!sel) return;
  /** @type {Record<string, unknown>} */
  const fault = { action: form.dataset.action };
  form.querySelectorAll('input').forEach((input) => {
    if (input.type === 'checkbox') {
      if (input.checked) fault[input.name] = true;
    } else if (input.value !== '') fault[input.name] = input.type === 'number' ? Number(input.value) : input.value;
  });
  const result = $('#inject-result');
  result.classList.remove('failed');
  result.textContent = `${fault.action}…`;
  try {
    const answer = await api('POST', `sessions/${encodeURIComponent(sel.id)}/inject`, { faults: [fault] });
    result.textContent = `${fault.action}: applied ${answer.applied}${answer.armed ? `, armed ${answer.armed}` : ''}; the session is ${answer.state}`;
  } catch (err) {
    result.classList.add('failed');
    result.textContent = `${fault.action} refused: ${err instanceof ApiError ? `${err.code} ${err.message}` : String(err)}`;
  }
  scheduleSessions(0);
}

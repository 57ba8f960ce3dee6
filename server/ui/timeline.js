// @ts-check
/**
 * The media-time timeline of one stream session (or one upload's analysis), drawn as SVG: the one
 * timeline renderer of ih-mock. The HTML conformance report (conformance/html-report.ts, in Node)
 * and the live dashboard (in the browser) both use it.
 *
 * Why plain JavaScript: the browser loads this very file as an ES module, with no build step and
 * nothing from a CDN (the server can serve it straight from the package's `server/ui/` folder), and
 * Node imports the same file. TypeScript still checks it (`// @ts-check`, types in JSDoc), and the
 * build copies it to `dist/server/ui/` with a .d.ts generated from those types (`allowJs`), so the
 * compiled TypeScript imports it like any other module. It imports nothing and touches neither the
 * DOM nor Node: data in, strings out.
 *
 * Three steps, each usable alone:
 *   1. `createTimelineBuilder()` folds a session's frames into a `TimelineData`, one frame at a time
 *      (`server(event)`, `segment(bytes, mediaSeconds)`); `data()` is cheap, so a live view can
 *      redraw after every event. `timelineFromAnalysis(json)` does the same for an upload's answer.
 *   2. Optionally the caller adds `client` (a `ClientView`: the spans and errors the client itself
 *      reported), drawn under the server's lanes with the differences highlighted (`diffSpans`).
 *   3. `renderTimeline(data)` returns the SVG markup: a pure function from data to a string. The
 *      page includes `TIMELINE_CSS` and `TIMELINE_DEFS` once (they style every chart on it), and may
 *      show `renderLegend()`.
 *
 * Media time: the server's events carry their own (`start`, `end`, periods, ranges). An event that
 * carries none is placed at `known`, the last media time known when it arrived: the greatest `start`
 * of a signal.detected / signal.updated / engagement.updated, `end` of a signal.ended and `end` of a
 * period of a conversation_quality.updated timeline received so far (the kit's contract calls it "the
 * last media time the client knew of"; coverage.dropped ranges, unknown event types and the media
 * sent do not count). An error about one segment is placed where that segment begins, any other
 * error where the client's media had reached when it arrived (what the server had received then):
 * the client's segments are laid end to end by the media seconds each carried (as measured by
 * whoever recorded them; unknown counts as 0).
 *
 * Everything in the data may come from outside (a client, a recording): every text is escaped.
 */

/** Colours of a signal span by probability; anything else is drawn grey. */
export const PROBABILITY_COLOURS = Object.freeze({ low: '#9ecae1', medium: '#4292c6', high: '#08306b' });
/** Colours of the engagement states. */
export const ENGAGEMENT_COLOURS = Object.freeze({ engaged: '#66bb6a', neutral: '#bdbdbd', disengaged: '#ef5350' });

const UNKNOWN_COLOUR = '#757575';
const QUALITY_TIMELINE = 'conversation_quality_timeline';
const TICK_STEPS = [1, 2, 5, 10, 30, 60, 300, 600, 1800];
/** Layout in px: label column, lane heights, gaps. */
const G = { width: 960, label: 150, right: 16, top: 6, heading: 20, lane: 20, gap: 4, quality: 64, segments: 18, errorRow: 16, axis: 26, charWidth: 6.4 };

// ---- The data model ----------------------------------------------------------------------------

/**
 * @typedef {object} ProbabilityStep The probability of a span from a media time on.
 * @property {number} at
 * @property {string} probability `low`, `medium`, `high` (others are drawn grey)
 * @property {string} [rationale]
 */
/**
 * @typedef {object} SignalSpan One detection of a signal type.
 * @property {number} start
 * @property {number | null} end null: still active (drawn to `known`, with a hatched end)
 * @property {ProbabilityStep[]} steps the detection, then every change
 */
/**
 * @typedef {object} EngagementPeriod
 * @property {number} start
 * @property {number | null} end null: the current state (drawn to `known`)
 * @property {string} state
 */
/**
 * @typedef {object} QualityPeriod
 * @property {number} start
 * @property {number} end
 * @property {number} value quality_index, 0-100
 */
/**
 * @typedef {object} TimelineError An error event, at the media time it concerns.
 * @property {number} at
 * @property {string} code
 * @property {string} message
 * @property {number | null} segment the segment it concerns (1-based), when it names one
 * @property {number | string | null} ref the caller's reference to the frame (a frame index, a journal id)
 */
/**
 * @typedef {object} Segment One binary message of the client, on the media-time axis.
 * @property {number} number 1-based, as the server counts them in errors
 * @property {number} start
 * @property {number} end
 * @property {number} bytes
 * @property {number | null} seconds its media seconds (null: unknown, drawn as a tick)
 * @property {string[]} errors codes of the errors that name this segment
 * @property {number | string | null} ref the caller's reference to the frame
 */
/**
 * @typedef {object} SpanRecord A span as a client reports it (and as the wire implies it).
 * @property {string} signal_type
 * @property {number} start
 * @property {number | null} end
 */
/**
 * @typedef {object} ClientView What the client itself reported, drawn under the server's lanes.
 * @property {SpanRecord[] | null} spans its final spans (null: it reported none)
 * @property {SpanRecord[]} expected the spans the server's frames imply (what `spans` should be)
 * @property {{ code: string, segment?: number | null }[] | null} errors the errors it surfaced (null: not known)
 * @property {string} [caption] shown in the section's heading
 */
/**
 * @typedef {object} TimelineData Everything one chart shows; plain JSON.
 * @property {{ type: string, spans: SignalSpan[] }[]} signals one lane per signal type, sorted by type
 * @property {EngagementPeriod[]} engagement
 * @property {boolean} qualityRequested the session asked for the quality timeline (the lane is drawn only then, or when periods arrived)
 * @property {QualityPeriod[]} quality
 * @property {{ start: number, end: number }[]} dropped media the server did not analyze
 * @property {TimelineError[]} errors
 * @property {Segment[]} segments
 * @property {number} known the last media time the server's events reached
 * @property {number} sent the media seconds the client sent
 * @property {ClientView | null} [client]
 */
/**
 * @typedef {object} TimelineBuilder Folds a session's frames, in order, into a TimelineData.
 * @property {(event: { type: string, data?: unknown }, ref?: number | string | null) => void} server a server event (parsed envelope)
 * @property {(bytes: number, mediaSeconds: number | null, ref?: number | string | null) => void} segment a binary message from the client
 * @property {() => TimelineData} data the timeline so far (a new object each call; cheap)
 */

/** @param {unknown} v */
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
/** @param {unknown} v @returns {Record<string, unknown>} */
const obj = (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? /** @type {Record<string, unknown>} */ (v) : {});
/** @param {unknown} v */
const list = (v) => (Array.isArray(v) ? v.map(obj) : []);

/** @param {Record<string, unknown>[]} items @returns {{ start: number, end: number }[]} */
function ranges(items) {
  /** @type {{ start: number, end: number }[]} */
  const out = [];
  for (const r of items) {
    const start = num(r['start']);
    const end = num(r['end']);
    if (start !== null && end !== null) out.push({ start, end });
  }
  return out;
}

/** @returns {TimelineBuilder} */
export function createTimelineBuilder() {
  /** @type {Map<string, SignalSpan[]>} */
  const spans = new Map();
  /** @type {Map<string, SignalSpan>} */
  const active = new Map();
  /** @type {{ start: number, state: string }[]} */
  const changes = [];
  /** @type {QualityPeriod[]} */
  const quality = [];
  /** @type {{ start: number, end: number }[]} */
  const dropped = [];
  /** @type {{ code: string, message: string, segment: number | null, ref: number | string | null, sent: number }[]} */
  const errors = [];
  /** @type {{ bytes: number, seconds: number | null, ref: number | string | null }[]} */
  const segments = [];
  let known = 0;
  let sent = 0;
  let qualityRequested = false;

  /** @param {number | null} t */
  const reach = (t) => {
    if (t !== null) known = Math.max(known, t);
  };

  return {
    server(event, ref = null) {
      const d = obj(event.data);
      const signal = String(d['signal_type']);
      switch (event.type) {
        case 'signal.detected':
        case 'signal.updated': {
          reach(num(d['start']));
          const step = { at: known, probability: String(d['probability']), rationale: String(d['rationale'] ?? '') };
          const span = active.get(signal);
          if (span) span.steps.push(step);
          else if (event.type === 'signal.detected') {
            const start = num(d['start']) ?? known;
            /** @type {SignalSpan} */
            const opened = { start, end: null, steps: [{ ...step, at: start }] };
            active.set(signal, opened);
            spans.set(signal, [...(spans.get(signal) ?? []), opened]);
          }
          break;
        }
        case 'signal.ended': {
          reach(num(d['end']));
          const span = active.get(signal);
          if (span) span.end = num(d['end']) ?? known;
          active.delete(signal);
          break;
        }
        case 'engagement.updated': {
          const start = num(d['start']);
          reach(start);
          if (start !== null) changes.push({ start, state: String(d['state']) });
          break;
        }
        case 'conversation_quality.updated':
          for (const p of list(d['timeline'])) {
            const value = num(obj(p['values'])['quality_index']);
            const [period] = ranges([p]);
            if (period) reach(period.end);
            if (value !== null && period) quality.push({ ...period, value });
          }
          break;
        case 'session.updated':
          if (Array.isArray(d['include']) && d['include'].includes(QUALITY_TIMELINE)) qualityRequested = true;
          break;
        case 'coverage.dropped':
          dropped.push(...ranges(list(d['ranges'])));
          break;
        case 'error':
          errors.push({ code: String(d['code']), message: String(d['message'] ?? ''), segment: num(d['segment']), ref, sent });
          break;
        default:
          break;
      }
    },
    segment(bytes, mediaSeconds, ref = null) {
      segments.push({ bytes, seconds: num(mediaSeconds), ref });
      sent += num(mediaSeconds) ?? 0;
    },
    data() {
      let end = 0;
      /** @type {Segment[]} */
      const laid = segments.map((s, i) => {
        const start = end;
        end += s.seconds ?? 0;
        const number = i + 1;
        return { number, start, end, bytes: s.bytes, seconds: s.seconds, errors: errors.filter((e) => e.segment === number).map((e) => e.code), ref: s.ref };
      });
      return {
        signals: [...spans].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([type, s]) => ({ type, spans: s.map((span) => ({ ...span, steps: [...span.steps] })) })),
        engagement: changes.map((c, i) => ({ start: c.start, end: changes[i + 1]?.start ?? null, state: c.state })),
        qualityRequested,
        quality: [...quality],
        dropped: [...dropped],
        errors: errors.map((e) => ({ at: (e.segment !== null ? laid[e.segment - 1]?.start : undefined) ?? e.sent, code: e.code, message: e.message, segment: e.segment, ref: e.ref })),
        segments: laid,
        known,
        sent,
      };
    },
  };
}

/**
 * The timeline of an upload's 200 answer (`signals` with `type`, `engagement_state`,
 * `conversation_quality.timeline`): the analysis of the whole file, with no segments or errors.
 * @param {unknown} analysis the answer's JSON
 * @returns {TimelineData}
 */
export function timelineFromAnalysis(analysis) {
  const a = obj(analysis);
  /** @type {Map<string, SignalSpan[]>} */
  const byType = new Map();
  let known = 0;
  for (const s of list(a['signals'])) {
    const start = num(s['start']);
    const end = num(s['end']);
    if (start === null) continue;
    known = Math.max(known, start, end ?? 0);
    const span = { start, end: end ?? start, steps: [{ at: start, probability: String(s['probability']), rationale: String(s['rationale'] ?? '') }] };
    const type = String(s['type']);
    byType.set(type, [...(byType.get(type) ?? []), span]);
  }
  const engagement = list(a['engagement_state']).flatMap((e) => {
    const [r] = ranges([e]);
    return r ? [{ ...r, state: String(e['state']) }] : [];
  });
  const timeline = obj(a['conversation_quality'])['timeline'];
  const quality = list(timeline).flatMap((p) => {
    const value = num(obj(p['values'])['quality_index']);
    const [r] = ranges([p]);
    return r && value !== null ? [{ ...r, value }] : [];
  });
  for (const r of [...engagement, ...quality]) known = Math.max(known, r.end);
  return {
    signals: [...byType].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([type, spans]) => ({ type, spans: spans.sort((x, y) => x.start - y.start) })),
    engagement,
    qualityRequested: Array.isArray(timeline),
    quality,
    dropped: [],
    errors: [],
    segments: [],
    known,
    sent: 0,
  };
}

// ---- Comparing the client's spans ----------------------------------------------------------------

/** @param {SpanRecord} s */
const spanKey = (s) => `${String(s.signal_type)} [${s.start}, ${s.end ?? 'open'})`;

/**
 * The client's spans against the expected ones, matched exactly (type, start and end), each at most
 * once: what the kit's `client.spans-match` invariant compares.
 * @param {SpanRecord[]} expected
 * @param {SpanRecord[]} actual
 * @returns {{ matched: SpanRecord[], missing: SpanRecord[], unexpected: SpanRecord[] }}
 */
export function diffSpans(expected, actual) {
  const left = [...actual];
  /** @type {SpanRecord[]} */
  const matched = [];
  /** @type {SpanRecord[]} */
  const missing = [];
  for (const e of expected) {
    const i = left.findIndex((a) => spanKey(a) === spanKey(e));
    if (i < 0) missing.push(e);
    else matched.push(...left.splice(i, 1));
  }
  return { matched, missing, unexpected: left };
}

/** A span as text: `agreement [0, 21)` (`open` when it has no end). */
export const describeSpan = spanKey;

// ---- SVG ---------------------------------------------------------------------------------------

/** @param {unknown} text */
function esc(text) {
  return String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** @param {number} n */
const round = (n) => Math.round(n * 10) / 10;

/**
 * An element with escaped attributes; `children` is markup already.
 * @param {string} name @param {Record<string, string | number>} attrs @param {string} [children]
 */
function el(name, attrs, children = '') {
  let a = '';
  for (const [k, v] of Object.entries(attrs)) a += ` ${k}="${esc(typeof v === 'number' ? round(v) : v)}"`;
  return `<${name}${a}>${children}</${name}>`;
}

/** @param {string} text */
const tip = (text) => el('title', {}, esc(text));

/**
 * @typedef {object} Frame Where the chart draws: width and the media-time scale.
 * @property {number} width
 * @property {number} left x of media time 0
 * @property {number} right x of the axis' end
 * @property {(t: number) => number} x
 * @property {number[]} ticks
 */

/** @param {TimelineData} data */
function extentOf(data) {
  let end = Math.max(data.known, data.sent);
  const see = (/** @type {number | null | undefined} */ t) => {
    if (typeof t === 'number' && Number.isFinite(t)) end = Math.max(end, t);
  };
  for (const { spans } of data.signals) for (const s of spans) see(s.end ?? s.start);
  for (const e of data.engagement) see(e.end ?? e.start);
  for (const r of [...data.quality, ...data.dropped]) see(r.end);
  for (const e of data.errors) see(e.at);
  for (const s of [...(data.client?.spans ?? []), ...(data.client?.expected ?? [])]) see(s.end ?? s.start);
  return end;
}

/** @param {number} extent @param {number} width @returns {Frame} */
function frameFor(extent, width) {
  const step = TICK_STEPS.find((s) => extent / s <= 16) ?? /** @type {number} */ (TICK_STEPS[TICK_STEPS.length - 1]);
  const end = Math.max(step, Math.ceil(extent / step) * step);
  const left = G.label;
  const right = width - G.right;
  return {
    width,
    left,
    right,
    x: (t) => left + (Math.min(Math.max(t, 0), end) / end) * (right - left),
    ticks: Array.from({ length: Math.round(end / step) + 1 }, (_, i) => i * step),
  };
}

/**
 * A lane: its label (right-aligned in the label column), its background, its body.
 * @param {Frame} f @param {string} cls @param {string} label @param {number} y @param {number} h @param {string} body
 * @param {{ flagged?: boolean, title?: string }} [opts]
 */
function lane(f, cls, label, y, h, body, opts = {}) {
  const text = el('text', { class: `lane-label${opts.flagged ? ' flagged' : ''}`, x: f.left - 8, y: y + Math.min(h, G.lane) / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, esc(label) + (opts.title ? tip(opts.title) : ''));
  return el('g', { class: `lane ${cls}` }, text + el('rect', { class: `lane-bg${opts.flagged ? ' flagged' : ''}`, x: f.left, y, width: f.right - f.left, height: h }) + body);
}

/**
 * A bar from `from` to `to`, at least 2 px wide.
 * @param {Frame} f @param {number} from @param {number} to @param {number} y @param {number} h @param {Record<string, string | number>} attrs @param {string} title
 */
function bar(f, from, to, y, h, attrs, title) {
  return el('rect', { x: f.x(from), y, width: Math.max(2, f.x(to) - f.x(from)), height: h, ...attrs }, tip(title));
}

/** @param {Frame} f @param {string} text @param {number} y */
function heading(f, text, y) {
  return el('text', { class: 'section-heading', x: 4, y: y + 13 }, esc(text)) + el('line', { class: 'section-rule', x1: 4, x2: f.right, y1: y + G.heading - 2, y2: y + G.heading - 2 });
}

/** @param {Frame} f @param {string} type @param {SignalSpan[]} spans @param {number} known @param {number} y */
function signalLane(f, type, spans, known, y) {
  let body = '';
  for (const span of spans) {
    const end = span.end ?? Math.max(known, span.start);
    span.steps.forEach((step, i) => {
      const from = Math.min(Math.max(step.at, span.start), end);
      const to = Math.max(from, Math.min(span.steps[i + 1]?.at ?? end, end));
      const title = `${type} ${step.probability} from ${round(from)} s${step.rationale ? `: ${step.rationale}` : ''}`;
      body += bar(f, from, to, y + 2, G.lane - 4, { fill: PROBABILITY_COLOURS[/** @type {keyof PROBABILITY_COLOURS} */ (step.probability)] ?? UNKNOWN_COLOUR }, title);
      if (i > 0) body += el('line', { class: 'change', x1: f.x(from), x2: f.x(from), y1: y, y2: y + G.lane });
    });
    if (span.end === null) {
      const x0 = f.x(span.start);
      const x1 = f.x(end);
      body += el('rect', { class: 'open-end', x: Math.max(x0, x1 - 14), y: y + 2, width: Math.max(2, Math.min(14, x1 - x0)), height: G.lane - 4, fill: 'url(#ih-open)' }, tip(`${type} still active at ${round(end)} s`));
    }
  }
  return lane(f, 'lane-signal', type, y, G.lane, body);
}

/** @param {Frame} f @param {EngagementPeriod[]} periods @param {number} known @param {number} y */
function engagementLane(f, periods, known, y) {
  const body = periods.map((p) => bar(f, p.start, p.end ?? Math.max(known, p.start), y + 2, G.lane - 4, { fill: ENGAGEMENT_COLOURS[/** @type {keyof ENGAGEMENT_COLOURS} */ (p.state)] ?? UNKNOWN_COLOUR }, `${p.state} from ${round(p.start)} s`));
  return lane(f, 'lane-engagement', 'engagement', y, G.lane, body.join(''));
}

/** @param {Frame} f @param {QualityPeriod[]} periods @param {number} y */
function qualityLane(f, periods, y) {
  if (periods.length === 0) return lane(f, 'lane-quality', 'quality index', y, G.lane, el('text', { class: 'none', x: f.left + 8, y: y + G.lane / 2, 'dominant-baseline': 'middle' }, 'requested; no quality period received'));
  const h = G.quality;
  const yOf = (/** @type {number} */ v) => y + 4 + (h - 8) - (Math.min(Math.max(v, 0), 100) / 100) * (h - 8);
  let body = '';
  for (const v of [0, 50, 100]) {
    body += el('line', { class: 'grid', x1: f.left, x2: f.right, y1: yOf(v), y2: yOf(v) });
    body += el('text', { class: 'scale', x: f.left - 4, y: yOf(v), 'text-anchor': 'end', 'dominant-baseline': 'middle' }, String(v));
  }
  const sorted = [...periods].sort((a, b) => a.start - b.start);
  const points = sorted.flatMap((p) => [`${round(f.x(p.start))},${round(yOf(p.value))}`, `${round(f.x(p.end))},${round(yOf(p.value))}`]);
  if (points.length) body += el('polyline', { class: 'quality', points: points.join(' ') });
  for (const p of sorted) body += el('circle', { cx: f.x((p.start + p.end) / 2), cy: yOf(p.value), r: 3 }, tip(`quality_index ${p.value} in [${round(p.start)}, ${round(p.end)}) s`));
  // The label sits above the scale's numbers.
  return el('g', { class: 'lane lane-quality' }, el('text', { class: 'lane-label', x: f.left - 30, y: y + h / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, 'quality index') + el('rect', { class: 'lane-bg', x: f.left, y, width: f.right - f.left, height: h }) + body);
}

/** @param {Frame} f @param {Segment[]} segments @param {number} y */
function segmentsLane(f, segments, y) {
  const h = G.segments;
  const body = segments.map((s) => {
    const title = `segment ${s.number}: ${s.bytes} bytes, ${s.seconds === null ? 'media seconds unknown' : `${s.seconds} s`} [${round(s.start)}, ${round(s.end)}) s${s.errors.length ? `; error ${s.errors.join(', ')}` : ''}`;
    const cls = `segment${s.number % 2 ? '' : ' even'}${s.errors.length ? ' with-error' : ''}`;
    const x0 = f.x(s.start);
    const w = Math.max(2, f.x(s.end) - x0);
    const label = w > 18 ? el('text', { class: 'segment-number', x: x0 + w / 2, y: y + h / 2 + 1, 'text-anchor': 'middle', 'dominant-baseline': 'middle' }, String(s.number)) : '';
    return el('g', { class: cls }, el('rect', { x: x0, y: y + 2, width: w, height: h - 4 }) + label + tip(title));
  });
  return lane(f, 'lane-segments', 'client segments', y, h, body.join(''));
}

/**
 * Rows for labels that must not overlap: each goes in the first row where it fits.
 * @template {{ from: number, width: number }} T
 * @param {T[]} items sorted by `from` (their left edge)
 * @returns {(T & { row: number })[]}
 */
function stack(items) {
  /** @type {number[]} */
  const rowEnds = [];
  return items.map((item) => {
    let row = rowEnds.findIndex((end) => end <= item.from - 4);
    if (row < 0) row = rowEnds.push(0) - 1;
    rowEnds[row] = item.from + item.width;
    return { ...item, row };
  });
}

/**
 * Markers with their text printed, in as many rows as they need.
 * @param {Frame} f @param {{ at: number, text: string, title: string, cls: string }[]} marks
 */
function markerRows(f, marks) {
  // A label that would run past the plot's right edge goes to the left of its marker.
  const sized = marks.map((m) => {
    const x = f.x(m.at);
    const width = 12 + m.text.length * G.charWidth;
    const left = x + width > f.width - 2;
    return { ...m, x, width, left, from: left ? x - width : x };
  });
  const placed = stack(sized.sort((a, b) => a.from - b.from));
  const rows = Math.max(1, ...placed.map((p) => p.row + 1));
  /** @param {number} y */
  const draw = (y) =>
    placed
      .map((p) => {
        const top = y + 3 + p.row * G.errorRow;
        const marker = el('path', { d: `M${round(p.x - 4)} ${round(top)} L${round(p.x + 4)} ${round(top)} L${round(p.x)} ${round(top + 8)} Z` });
        const text = el('text', { x: p.left ? p.x - 6 : p.x + 6, y: top + 5, 'dominant-baseline': 'middle', ...(p.left ? { 'text-anchor': 'end' } : {}) }, esc(p.text));
        return el('g', { class: p.cls }, marker + text + tip(p.title));
      })
      .join('');
  return { height: rows * G.errorRow + 4, draw };
}

/** @param {TimelineError} e */
const errorText = (e) => `${e.code}${e.segment !== null ? ` · seg ${e.segment}` : ''}`;

/**
 * The client's lanes: one per signal type it or the wire has, its spans drawn against the expected
 * ones (a match plain, a span of its own that the wire does not imply highlighted, an expected span
 * it lacks drawn as a dashed outline), then the errors it surfaced against the server's.
 * @param {Frame} f @param {ClientView} view @param {TimelineError[]} serverErrors @param {number} extent @param {number} y
 */
function clientLanes(f, view, serverErrors, extent, y) {
  let out = '';
  if (view.spans === null) {
    out += lane(f, 'lane-client lane-client-none', 'signals', y, G.lane, el('text', { class: 'none', x: f.left + 8, y: y + G.lane / 2, 'dominant-baseline': 'middle' }, 'the client reported no final spans'), { flagged: view.expected.length > 0 });
    y += G.lane + G.gap;
  } else {
    const diff = diffSpans(view.expected, view.spans);
    const types = [...new Set([...view.expected, ...view.spans].map((s) => String(s.signal_type)))].sort();
    for (const type of types) {
      const of = (/** @type {SpanRecord[]} */ spans) => spans.filter((s) => String(s.signal_type) === type);
      const [matched, missing, unexpected] = [of(diff.matched), of(diff.missing), of(diff.unexpected)];
      const draw = (/** @type {SpanRecord} */ s, /** @type {number} */ top, /** @type {string} */ cls, /** @type {string} */ title) => bar(f, s.start, s.end ?? extent, top + 2, G.lane - 4, { class: `client-span ${cls}` }, title);
      if (missing.length + unexpected.length === 0) {
        out += lane(f, 'lane-client', type, y, G.lane, matched.map((s) => draw(s, y, 'match', `${spanKey(s)}: as the wire implies`)).join(''), { title: 'as the wire implies' });
        y += G.lane + G.gap;
        continue;
      }
      // A type that differs gets two rows: what the client has, and what the wire implies.
      let body = '';
      for (const s of matched) body += draw(s, y, 'match', `${spanKey(s)}: as the wire implies`) + draw(s, y + G.lane, 'expected', `${spanKey(s)}: the wire implies it`);
      for (const s of unexpected) body += draw(s, y, 'unexpected', `${spanKey(s)}: the client has it, the wire does not imply it${s.end === null ? ' (no end)' : ''}`) + spanText(f, s, extent, y, s.end === null ? 'no end' : 'not implied');
      for (const s of missing) body += draw(s, y + G.lane, 'missing', `${spanKey(s)}: the wire implies it, the client does not have it`) + spanText(f, s, extent, y + G.lane, `missing ${spanKey(s).slice(type.length + 1)}`);
      const rowLabel = (/** @type {string} */ text, /** @type {number} */ top) => el('text', { class: 'row-label', x: f.left - 4, y: top + G.lane / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, text);
      const h = 2 * G.lane;
      const label = el('text', { class: 'lane-label flagged', x: f.left - 44, y: y + h / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, `≠ ${esc(type)}${tip('the client\'s spans of this type differ from the ones the wire implies')}`);
      const bg = el('rect', { class: 'lane-bg flagged', x: f.left, y, width: f.right - f.left, height: h }) + el('line', { class: 'row-rule', x1: f.left, x2: f.right, y1: y + G.lane, y2: y + G.lane });
      out += el('g', { class: 'lane lane-client differs' }, label + rowLabel('client', y) + rowLabel('wire', y + G.lane) + bg + body);
      y += h + G.gap;
    }
    if (types.length === 0) {
      out += lane(f, 'lane-client', 'signals', y, G.lane, el('text', { class: 'none', x: f.left + 8, y: y + G.lane / 2, 'dominant-baseline': 'middle' }, 'no spans, as the wire implies'));
      y += G.lane + G.gap;
    }
  }
  if (view.errors !== null && (view.errors.length > 0 || serverErrors.length > 0)) {
    const surfaced = [...view.errors];
    /** @type {{ at: number, text: string, title: string, cls: string }[]} */
    const marks = serverErrors.map((e) => {
      const i = surfaced.findIndex((c) => c.code === e.code);
      if (i >= 0) {
        surfaced.splice(i, 1);
        return { at: e.at, text: e.code, title: `the client surfaced ${e.code}`, cls: 'client-error surfaced' };
      }
      return { at: e.at, text: `${e.code} not surfaced`, title: `the server sent ${e.code}; the client did not report it`, cls: 'client-error not-surfaced' };
    });
    for (const c of surfaced) {
      const seg = typeof c.segment === 'number' ? c.segment : null;
      marks.push({ at: 0, text: `${c.code}${seg !== null ? ` · seg ${seg}` : ''}`, title: `the client reported ${c.code}${seg !== null ? ` about segment ${seg}` : ''}, which the server did not send`, cls: 'client-error own' });
    }
    const rows = markerRows(f, marks);
    const flagged = marks.some((m) => m.cls.includes('not-surfaced'));
    out += lane(f, `lane-client-errors${flagged ? ' differs' : ''}`, `${flagged ? '≠ ' : ''}errors surfaced`, y, rows.height, rows.draw(y), { flagged });
    y += rows.height + G.gap;
  }
  return { svg: out, bottom: y };
}

/** A short label inside (or after) a highlighted span. @param {Frame} f @param {SpanRecord} s @param {number} extent @param {number} y @param {string} text */
function spanText(f, s, extent, y, text) {
  const x0 = f.x(s.start);
  const x1 = f.x(s.end ?? extent);
  const inside = x1 - x0 > text.length * G.charWidth + 8;
  return el('text', { class: 'span-text', x: inside ? x0 + 4 : x1 + 3, y: y + G.lane / 2 + 1, 'dominant-baseline': 'middle' }, esc(text));
}

/** @param {Frame} f @param {number} y */
function axis(f, y) {
  const ticks = f.ticks.map((t) => el('line', { x1: f.x(t), x2: f.x(t), y1: y, y2: y + 4 }) + el('text', { x: f.x(t), y: y + 16, 'text-anchor': 'middle' }, String(t)));
  return el('g', { class: 'axis' }, el('line', { x1: f.left, x2: f.right, y1: y, y2: y }) + ticks.join('') + el('text', { x: f.left - 8, y: y + 16, 'text-anchor': 'end' }, 'media time (s)'));
}

/**
 * True when a chart would show nothing: no signal, engagement, quality lane, drop, error, segment or
 * client view. (A page can print a sentence instead.)
 * @param {TimelineData} data
 */
export function isEmptyTimeline(data) {
  return data.signals.length === 0 && data.engagement.length === 0 && !data.qualityRequested && data.quality.length === 0 && data.dropped.length === 0 && data.errors.length === 0 && data.segments.length === 0 && !data.client;
}

/**
 * @typedef {object} RenderOptions
 * @property {number} [width] px (default 960); the SVG scales down with its container
 * @property {number} [extent] the axis' end in media seconds (default: the latest time in the data)
 * @property {string} [label] the chart's accessible name
 * @property {string} [emptyText] what the server's part says when it has nothing to draw (default: nothing on the media-time axis yet)
 */

/**
 * The chart: server lanes (errors, a lane per signal type, engagement, quality when requested, the
 * client's segments; dropped media shaded across them), then the client's lanes when `data.client`
 * is given, then the media-time axis.
 * @param {TimelineData} data
 * @param {RenderOptions} [options]
 * @returns {string} SVG markup
 */
export function renderTimeline(data, options = {}) {
  const extent = options.extent ?? extentOf(data);
  const f = frameFor(extent, options.width ?? G.width);
  const parts = [];
  let y = G.top;
  if (data.client) {
    parts.push(heading(f, 'SERVER · what ih-mock sent', y));
    y += G.heading;
  }
  const serverTop = y;
  if (data.errors.length) {
    const rows = markerRows(
      f,
      data.errors.map((e) => ({ at: e.at, text: errorText(e), title: `error ${e.code} at ${round(e.at)} s${e.segment !== null ? ` (segment ${e.segment})` : ''}${e.ref !== null ? ` (frame ${e.ref})` : ''}: ${e.message}`, cls: 'error-marker' })),
    );
    parts.push(lane(f, 'lane-errors', 'errors', y, rows.height, rows.draw(y)));
    y += rows.height + G.gap;
  }
  for (const { type, spans } of data.signals) {
    parts.push(signalLane(f, type, spans, data.known, y));
    y += G.lane + G.gap;
  }
  if (data.engagement.length) {
    parts.push(engagementLane(f, data.engagement, data.known, y));
    y += G.lane + G.gap;
  }
  if (data.qualityRequested || data.quality.length) {
    parts.push(qualityLane(f, data.quality, y));
    y += (data.quality.length ? G.quality : G.lane) + G.gap;
  }
  if (data.segments.length) {
    parts.push(segmentsLane(f, data.segments, y));
    y += G.segments + G.gap;
  }
  const serverBottom = y - G.gap;
  if (y === serverTop) {
    parts.push(el('text', { class: 'none', x: f.left + 8, y: y + 12 }, esc(options.emptyText ?? 'nothing on the media-time axis yet')));
    y += G.lane;
  }
  // Drops and error lines span the server's lanes.
  for (const r of data.dropped) parts.push(bar(f, r.start, r.end, serverTop, Math.max(0, serverBottom - serverTop), { class: 'dropped', fill: 'url(#ih-dropped)' }, `coverage dropped [${round(r.start)}, ${round(r.end)}) s`));
  for (const e of data.errors) parts.push(el('line', { class: 'error-line', x1: f.x(e.at), x2: f.x(e.at), y1: serverTop, y2: serverBottom }));
  if (data.client) {
    y += 6;
    parts.push(heading(f, `CLIENT · its own report${data.client.caption ? ` (${data.client.caption})` : ''}`, y));
    y += G.heading;
    const client = clientLanes(f, data.client, data.errors, extent, y);
    parts.push(client.svg);
    y = client.bottom;
  }
  y += 2;
  parts.push(axis(f, y));
  const height = y + G.axis;
  const label = options.label ?? `timeline: ${data.signals.length} signal types over ${round(extent)} media seconds`;
  return el('svg', { class: 'timeline', xmlns: 'http://www.w3.org/2000/svg', viewBox: `0 0 ${f.width} ${height}`, width: f.width, height, role: 'img', 'aria-label': label }, parts.join(''));
}

// ---- What a page includes once -------------------------------------------------------------------

/** Patterns the charts share: the open end of an active span, dropped coverage, a client's unexpected span. Include once per page. */
/** @type {string} */
export const TIMELINE_DEFS = `<svg class="timeline-defs" width="0" height="0" style="position:absolute" aria-hidden="true"><defs>
<pattern id="ih-open" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><rect width="3" height="6" fill="#424242"/></pattern>
<pattern id="ih-dropped" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="rgba(97,97,97,0.14)"/><rect width="2" height="8" fill="rgba(97,97,97,0.4)"/></pattern>
<pattern id="ih-unexpected" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffcc80"/><rect width="2" height="6" fill="#ef6c00"/></pattern>
</defs></svg>`;

/** The charts' styles. Include once per page. */
/** @type {string} */
export const TIMELINE_CSS = `svg.timeline{max-width:100%;height:auto;font:11px system-ui,sans-serif;display:block}
svg.timeline .lane-bg{fill:#fafafa}svg.timeline .lane-bg.flagged{fill:#fdecea}
svg.timeline .lane-label{fill:#424242}svg.timeline .lane-label.flagged{fill:#c62828;font-weight:600}
svg.timeline .section-heading{fill:#616161;font-weight:600;letter-spacing:.04em}svg.timeline .section-rule{stroke:#e0e0e0}
svg.timeline .change{stroke:#fff;stroke-width:2}
svg.timeline .quality{fill:none;stroke:#6a1b9a;stroke-width:2}svg.timeline .lane-quality circle{fill:#6a1b9a}
svg.timeline .grid{stroke:#e0e0e0;stroke-dasharray:3 3}svg.timeline .scale{fill:#9e9e9e;font-size:10px}
svg.timeline .none{fill:#9e9e9e;font-style:italic}
svg.timeline .segment rect{fill:#cfd8dc;stroke:#fff}svg.timeline .segment.even rect{fill:#b0bec5}
svg.timeline .segment.with-error rect{fill:#ffcdd2;stroke:#c62828}svg.timeline .segment-number{fill:#37474f;font-size:10px}
svg.timeline .error-marker path,svg.timeline .client-error.not-surfaced path{fill:#c62828}
svg.timeline .error-marker text,svg.timeline .client-error.not-surfaced text{fill:#b71c1c;font-weight:600}
svg.timeline .error-line{stroke:#c62828;stroke-dasharray:4 3;stroke-width:1}
svg.timeline .client-error.surfaced path{fill:#00897b}svg.timeline .client-error.surfaced text{fill:#00695c}
svg.timeline .client-error.own path{fill:#9e9e9e}svg.timeline .client-error.own text{fill:#616161}
svg.timeline .client-span.match{fill:#26a69a}
svg.timeline .client-span.unexpected{fill:url(#ih-unexpected);stroke:#e65100;stroke-width:1.5}
svg.timeline .client-span.missing{fill:rgba(198,40,40,.08);stroke:#c62828;stroke-width:1.5;stroke-dasharray:5 3}
svg.timeline .span-text{fill:#b71c1c;font-weight:600;font-size:10px;stroke:#fff;stroke-width:3px;paint-order:stroke}svg.timeline .client-span.expected{fill:#b2dfdb}
svg.timeline .row-label{fill:#757575;font-size:10px}svg.timeline .row-rule{stroke:#fff;stroke-width:2}
svg.timeline .axis line{stroke:#757575}svg.timeline .axis text{fill:#616161}`;

/** @param {string} fill @param {string} label @param {string} [extra] */
const swatch = (fill, label, extra = '') => `<span class="legend-item"><i class="legend-swatch" style="background:${fill};${extra}"></i>${esc(label)}</span>`;

/**
 * @typedef {object} LegendOptions
 * @property {boolean} [live] the charts are of sessions still running (the live dashboard): an open end means "active so far"
 * @property {boolean} [client] include the marks of the client's lanes (default true)
 */

/**
 * A legend of the charts' colours and marks (HTML; style it with `.timeline-legend`).
 * @param {LegendOptions} [options]
 */
export function renderLegend(options = {}) {
  const client = options.client ?? true;
  return `<div class="timeline-legend">${[
    ...Object.entries(PROBABILITY_COLOURS).map(([p, c]) => swatch(c, `${p} probability`)),
    ...Object.entries(ENGAGEMENT_COLOURS).map(([s, c]) => swatch(c, s)),
    swatch('repeating-linear-gradient(45deg,#424242 0 2px,#fff 2px 4px)', options.live ? 'still active (so far, or when the connection ended)' : 'still active when the connection ended'),
    swatch('repeating-linear-gradient(45deg,rgba(97,97,97,.45) 0 2px,rgba(97,97,97,.12) 2px 6px)', 'coverage dropped'),
    swatch('#c62828', 'error (code printed)'),
    ...(client
      ? [
          swatch('#26a69a', 'client span as the wire implies'),
          swatch('repeating-linear-gradient(45deg,#ef6c00 0 2px,#ffcc80 2px 6px)', 'client span the wire does not imply'),
          swatch('rgba(198,40,40,.08)', 'span the client lacks', 'border:1.5px dashed #c62828'),
        ]
      : []),
  ].join('')}</div>`;
}

/**
 * HTML report of a conformance run: one self-contained file (inline CSS and SVG; no scripts, fonts,
 * images or other external resources) with the counts per verdict, a summary table, and per case its
 * violated invariants (with the offending frames) and, per connection, a timeline chart of the
 * session's media time: a lane per signal type (a bar per span, coloured by probability, changes
 * marked), the engagement state, the quality index (0-100), the coverage the server dropped (shaded
 * across the lanes) and the errors (markers).
 *
 * Everything taken from a trace or a client comes from outside the kit: it is escaped, always.
 * Media times come from the events' own fields; an event that carries none (signal.updated, error)
 * is placed at the last media time known when it arrived (an error about a segment: where that
 * segment began). A violation names a frame index but not its connection: with several connections
 * the frame of that index is shown from each.
 */
import type { CaseResult, CatalogueResult, Verdict } from './runner.js';
import type { Trace, TraceFrame } from './trace.js';

const FRAME_TEXT_LIMIT = 2048;
const PROBABILITY_COLOUR: Record<string, string> = { low: '#9ecae1', medium: '#4292c6', high: '#08306b' };
const ENGAGEMENT_COLOUR: Record<string, string> = { engaged: '#66bb6a', neutral: '#bdbdbd', disengaged: '#ef5350' };
const UNKNOWN_COLOUR = '#757575';
const TICK_STEPS = [5, 10, 30, 60, 300, 600, 1800];
const C = { width: 960, label: 130, right: 16, top: 16, lane: 20, gap: 6, quality: 60, axis: 24 };

// ---- The timeline of one connection, from its server events --------------------------------

export interface SignalSpan {
  start: number;
  end: number;
  /** Still active when the connection ended: drawn to the last media time known. */
  open: boolean;
  /** The probability from each media time on: the detection, then every change. */
  steps: { at: number; probability: string; rationale: string }[];
}

export interface Timeline {
  signals: { type: string; spans: SignalSpan[] }[];
  engagement: { start: number; end: number; state: string }[];
  quality: { start: number; end: number; value: number }[];
  dropped: { start: number; end: number }[];
  errors: { at: number; code: string; message: string; frame: number }[];
  /** The last media time the server's events reached. */
  known: number;
  /** The end of the x axis: the later of `known` and the media the client sent. */
  extent: number;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.map(obj) : []);

/** Every media time an event's data names: start/end, quality periods, dropped ranges. */
function timesOf(d: Record<string, unknown>): number[] {
  return [d, ...list(d['timeline']), ...list(d['ranges'])].flatMap((o) => [num(o['start']), num(o['end'])]).filter((t): t is number => t !== null);
}

/** Ranges with a numeric start and end. */
function ranges(items: Record<string, unknown>[]): { start: number; end: number }[] {
  return items.flatMap((r) => {
    const start = num(r['start']);
    const end = num(r['end']);
    return start !== null && end !== null ? [{ start, end }] : [];
  });
}

export function timelineOf(trace: Trace): Timeline {
  const spans = new Map<string, SignalSpan[]>();
  const active = new Map<string, SignalSpan>();
  const changes: { start: number; state: string }[] = [];
  const segmentStarts: number[] = [];
  const tl: Timeline = { signals: [], engagement: [], quality: [], dropped: [], errors: [], known: 0, extent: 0 };
  let sent = 0;
  for (const f of trace.frames) {
    if (f.from === 'client' && f.kind === 'binary') {
      segmentStarts.push(sent);
      sent += f.mediaSeconds ?? 0;
    }
    if (f.from !== 'server' || f.kind !== 'text' || !f.event) continue;
    const d = obj(f.event.data);
    tl.known = Math.max(tl.known, ...timesOf(d));
    const signal = String(d['signal_type']);
    const step = { at: tl.known, probability: String(d['probability']), rationale: String(d['rationale'] ?? '') };
    switch (f.event.type) {
      case 'signal.detected':
      case 'signal.updated': {
        const span = active.get(signal);
        if (span) span.steps.push(step);
        else if (f.event.type === 'signal.detected') {
          const start = num(d['start']) ?? tl.known;
          const opened: SignalSpan = { start, end: start, open: true, steps: [{ ...step, at: start }] };
          active.set(signal, opened);
          spans.set(signal, [...(spans.get(signal) ?? []), opened]);
        }
        break;
      }
      case 'signal.ended': {
        const span = active.get(signal);
        if (span) Object.assign(span, { end: num(d['end']) ?? tl.known, open: false });
        active.delete(signal);
        break;
      }
      case 'engagement.updated': {
        const start = num(d['start']);
        if (start !== null) changes.push({ start, state: String(d['state']) });
        break;
      }
      case 'conversation_quality.updated':
        for (const p of list(d['timeline'])) {
          const value = num(obj(p['values'])['quality_index']);
          const [period] = ranges([p]);
          if (value !== null && period) tl.quality.push({ ...period, value });
        }
        break;
      case 'coverage.dropped':
        tl.dropped.push(...ranges(list(d['ranges'])));
        break;
      case 'error': {
        const segment = num(d['segment']);
        const at = (segment !== null ? segmentStarts[segment - 1] : undefined) ?? tl.known;
        tl.errors.push({ at, code: String(d['code']), message: String(d['message'] ?? ''), frame: f.index });
        break;
      }
      default:
        break;
    }
  }
  for (const span of active.values()) span.end = tl.known;
  tl.signals = [...spans].sort(([a], [b]) => a.localeCompare(b)).map(([type, s]) => ({ type, spans: s }));
  tl.engagement = changes.map((c, i) => ({ ...c, end: Math.max(c.start, changes[i + 1]?.start ?? tl.known) }));
  tl.extent = Math.max(tl.known, sent);
  return tl;
}

// ---- SVG -------------------------------------------------------------------------------------

function esc(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const round = (n: number) => Math.round(n * 10) / 10;

/** An element with escaped attributes; `children` is markup already. */
function el(name: string, attrs: Record<string, string | number>, children = ''): string {
  const a = Object.entries(attrs).map(([k, v]) => ` ${k}="${esc(typeof v === 'number' ? round(v) : v)}"`).join('');
  return `<${name}${a}>${children}</${name}>`;
}

const tip = (text: string) => el('title', {}, esc(text));

interface Scale {
  x(t: number): number;
  ticks: number[];
}

/** Media seconds to x: ticks every 5 s (10 s, ... for longer sessions), the axis ending on one. */
function scaleFor(extent: number): Scale {
  const step = TICK_STEPS.find((s) => extent / s <= 20) ?? TICK_STEPS[TICK_STEPS.length - 1]!;
  const end = Math.max(step, Math.ceil(extent / step) * step);
  const plot = C.width - C.label - C.right;
  return {
    x: (t) => C.label + (Math.min(Math.max(t, 0), end) / end) * plot,
    ticks: Array.from({ length: end / step + 1 }, (_, i) => i * step),
  };
}

/** A lane's label and background; `cls` names it for styling and tests. */
function lane(cls: string, label: string, y: number, h: number, body: string): string {
  const text = el('text', { x: C.label - 8, y: y + h / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, esc(label));
  return el('g', { class: `lane ${cls}` }, text + el('rect', { class: 'lane-bg', x: C.label, y, width: C.width - C.label - C.right, height: h }) + body);
}

/** A bar from `from` to `to` (at least 2 px wide). */
function bar(s: Scale, from: number, to: number, y: number, h: number, fill: string, title: string): string {
  return el('rect', { x: s.x(from), y, width: Math.max(2, s.x(to) - s.x(from)), height: h, fill }, tip(title));
}

function signalLane(type: string, spans: SignalSpan[], y: number, s: Scale): string {
  const body = spans.map((span) => {
    const parts = span.steps.map((step, i) => {
      const from = Math.max(step.at, span.start);
      const to = Math.max(from, Math.min(span.steps[i + 1]?.at ?? span.end, span.end));
      const title = `${type} ${step.probability} from ${round(from)} s${step.rationale ? `: ${step.rationale}` : ''}`;
      return bar(s, from, to, y + 2, C.lane - 4, PROBABILITY_COLOUR[step.probability] ?? UNKNOWN_COLOUR, title);
    });
    const marks = span.steps.slice(1).map((step) => {
      const x = s.x(Math.min(Math.max(step.at, span.start), span.end));
      return el('line', { class: 'change', x1: x, x2: x, y1: y, y2: y + C.lane });
    });
    const endX = s.x(span.end);
    const open = span.open ? el('rect', { x: Math.max(s.x(span.start), endX - 14), y: y + 2, width: Math.min(14, endX - s.x(span.start)), height: C.lane - 4, fill: 'url(#ih-open)' }, tip(`${type} still active at ${round(span.end)} s`)) : '';
    return parts.join('') + marks.join('') + open;
  });
  return lane('lane-signal', type, y, C.lane, body.join(''));
}

function engagementLane(segments: Timeline['engagement'], y: number, s: Scale): string {
  const body = segments.map((g) => bar(s, g.start, g.end, y + 2, C.lane - 4, ENGAGEMENT_COLOUR[g.state] ?? UNKNOWN_COLOUR, `${g.state} from ${round(g.start)} s`));
  return lane('lane-engagement', 'engagement', y, C.lane, body.join(''));
}

function qualityLane(periods: Timeline['quality'], y: number, s: Scale): string {
  const yOf = (v: number) => y + C.quality - (Math.min(Math.max(v, 0), 100) / 100) * C.quality;
  const sorted = [...periods].sort((a, b) => a.start - b.start);
  const points = sorted.flatMap((p) => [`${round(s.x(p.start))},${round(yOf(p.value))}`, `${round(s.x(p.end))},${round(yOf(p.value))}`]);
  const line = points.length ? el('polyline', { class: 'quality', points: points.join(' ') }) : '';
  const dots = sorted.map((p) => el('circle', { cx: s.x((p.start + p.end) / 2), cy: yOf(p.value), r: 3 }, tip(`quality_index ${p.value} in [${round(p.start)}, ${round(p.end)}) s`)));
  const mid = el('line', { class: 'grid', x1: C.label, x2: C.width - C.right, y1: yOf(50), y2: yOf(50) });
  return lane('lane-quality', 'quality 0-100', y, C.quality, mid + line + dots.join(''));
}

function axis(s: Scale, y: number): string {
  const ticks = s.ticks.map((t) => el('line', { x1: s.x(t), x2: s.x(t), y1: y, y2: y + 4 }) + el('text', { x: s.x(t), y: y + 16, 'text-anchor': 'middle' }, String(t)));
  return el('g', { class: 'axis' }, el('line', { x1: C.label, x2: C.width - C.right, y1: y, y2: y }) + ticks.join('') + el('text', { x: C.label - 8, y: y + 16, 'text-anchor': 'end' }, 'media s'));
}

/** The timeline chart of one connection. */
function chart(trace: Trace): string {
  const tl = timelineOf(trace);
  const s = scaleFor(tl.extent);
  const rows: string[] = [];
  let y = C.top;
  for (const { type, spans } of tl.signals) {
    rows.push(signalLane(type, spans, y, s));
    y += C.lane + C.gap;
  }
  rows.push(engagementLane(tl.engagement, y, s));
  rows.push(qualityLane(tl.quality, y + C.lane + C.gap, s));
  const bottom = y + C.lane + C.gap + C.quality + C.gap;
  const dropped = tl.dropped.map((r) => el('rect', { class: 'dropped', x: s.x(r.start), y: C.top - 4, width: Math.max(2, s.x(r.end) - s.x(r.start)), height: bottom - C.top, fill: 'url(#ih-dropped)' }, tip(`coverage dropped [${round(r.start)}, ${round(r.end)}) s`)));
  const errors = tl.errors.map((e) => {
    const x = s.x(e.at);
    const marker = el('line', { x1: x, x2: x, y1: C.top - 4, y2: bottom }) + el('path', { d: `M${round(x - 5)} 2 L${round(x + 5)} 2 L${round(x)} 11 Z` });
    return el('g', { class: 'error-marker' }, marker + tip(`error ${e.code} at ${round(e.at)} s (frame ${e.frame}): ${e.message}`));
  });
  const height = bottom + C.axis;
  const label = `timeline of ${trace.source}: ${tl.signals.length} signal types over ${round(tl.extent)} media seconds`;
  return el('svg', { class: 'timeline', viewBox: `0 0 ${C.width} ${height}`, width: C.width, height, role: 'img', 'aria-label': label }, rows.join('') + dropped.join('') + errors.join('') + axis(s, bottom));
}

/** Patterns the charts share: the open end of an active span, dropped coverage. */
const SVG_DEFS = `<svg class="defs" width="0" height="0" aria-hidden="true"><defs>
<pattern id="ih-open" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><rect width="3" height="6" fill="#424242"/></pattern>
<pattern id="ih-dropped" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="rgba(97,97,97,0.18)"/><rect width="2" height="8" fill="rgba(97,97,97,0.45)"/></pattern>
</defs></svg>`;

// ---- HTML ------------------------------------------------------------------------------------

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#212121}h1{margin:0 0 8px}h2{font-size:18px;margin:0 0 4px}
table{border-collapse:collapse}th,td{border-bottom:1px solid #e0e0e0;padding:4px 10px;text-align:left}td.n{text-align:right}
.verdict{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;font-size:12px}
.v-ok{background:#2e7d32}.v-non-strict{background:#b26a00}.v-failed{background:#c62828}.v-informational{background:#1565c0}
.case{border-top:2px solid #e0e0e0;margin-top:24px;padding-top:12px}.meta,.none{color:#616161}
.violation{margin:6px 0}.sev{font-weight:600}.sev-error .sev{color:#c62828}.sev-warning .sev{color:#b26a00}
pre{background:#f5f5f5;padding:8px;overflow:auto;max-height:320px;font-size:12px}summary{cursor:pointer}
.legend span{display:inline-block;margin-right:12px}.sw{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:4px;border:1px solid #9e9e9e}
svg.defs{position:absolute}svg.timeline{max-width:100%;height:auto;font-size:11px}.lane-bg{fill:#fafafa}
.change{stroke:#fff;stroke-width:2}.quality{fill:none;stroke:#6a1b9a;stroke-width:2}.lane-quality circle{fill:#6a1b9a}.grid{stroke:#e0e0e0;stroke-dasharray:3 3}
.error-marker line{stroke:#c62828;stroke-dasharray:4 2}.error-marker path{fill:#c62828}.axis line{stroke:#757575}`;

const VERDICTS: Verdict[] = ['OK', 'NON-STRICT', 'FAILED', 'INFORMATIONAL'];
const verdictBadge = (v: Verdict) => `<span class="verdict v-${v.toLowerCase()}">${esc(v)}</span>`;
const duration = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
const swatch = (colour: string, label: string) => `<span><i class="sw" style="background:${colour}"></i>${label}</span>`;

function header(result: CatalogueResult, title: string): string {
  const counts = VERDICTS.map((v) => `${verdictBadge(v)} ${result.counts[v]}`).join(' &nbsp; ');
  const legend = [
    ...Object.entries(PROBABILITY_COLOUR).map(([p, c]) => swatch(c, `${p} probability`)),
    ...Object.entries(ENGAGEMENT_COLOUR).map(([s, c]) => swatch(c, s)),
    swatch('repeating-linear-gradient(45deg,#424242 0 2px,#fff 2px 4px)', 'still active at the end'),
    swatch('repeating-linear-gradient(45deg,#9e9e9e 0 2px,#eee 2px 5px)', 'coverage dropped'),
    swatch('#c62828', 'error'),
  ];
  return `<header><h1>${esc(title)}</h1><p>${counts}</p><p class="meta">${result.results.length} case${result.results.length === 1 ? '' : 's'} in ${duration(result.durationMs)}</p><p class="legend">${legend.join('')}</p></header>`;
}

function summaryTable(results: CaseResult[]): string {
  const rows = results.map((r, i) => `<tr><td><a href="#case-${i}">${esc(r.id)}</a></td><td>${esc(r.title)}</td><td>${verdictBadge(r.verdict)}</td><td class="n">${duration(r.durationMs)}</td><td class="n">${r.connections}</td><td class="n">${r.violations.length}</td></tr>`);
  return `<table class="summary"><thead><tr><th>case</th><th>title</th><th>verdict</th><th>duration</th><th>connections</th><th>violations</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** A frame as text: JSON pretty-printed, binary and close frames described; at most ~2 KB. */
function frameText(f: TraceFrame): string {
  let text: string;
  if (f.kind === 'text') {
    try {
      text = JSON.stringify(JSON.parse(f.text), null, 2);
    } catch {
      text = f.text;
    }
  } else if (f.kind === 'binary') text = `binary, ${f.bytes} bytes${f.from === 'client' && f.mediaSeconds !== null ? `, ${f.mediaSeconds} media seconds` : ''}`;
  else text = `close ${f.code}${f.reason ? ` "${f.reason}"` : ''}`;
  return text.length > FRAME_TEXT_LIMIT ? `${text.slice(0, FRAME_TEXT_LIMIT)}\n… (${text.length - FRAME_TEXT_LIMIT} more characters)` : text;
}

function frameView(f: TraceFrame, connection: string): string {
  const direction = f.from === 'server' ? 'server → client' : 'client → server';
  return `<details class="frame"><summary>${connection}frame ${f.index} · ${direction} · t=${f.t} ms · ${f.kind}</summary><pre>${esc(frameText(f))}</pre></details>`;
}

function violationItem(v: CaseResult['violations'][number], traces: Trace[]): string {
  const frames = v.frame === null ? [] : traces.flatMap((t, k) => t.frames.filter((f) => f.index === v.frame).map((f) => frameView(f, traces.length > 1 ? `connection ${k + 1}, ` : '')));
  const missing = v.frame !== null && frames.length === 0 ? `<p class="none">frame ${v.frame} is not in the recorded traces</p>` : '';
  return `<li class="violation sev-${esc(v.severity)}"><span class="sev">${esc(v.severity)}</span> <code>${esc(v.invariant)}</code>${v.frame === null ? '' : ` at frame ${v.frame}`}: ${esc(v.message)}${frames.join('')}${missing}</li>`;
}

/** The uploads of an upload case: when each was sent and answered, and how. */
function uploadsTable(uploads: CaseResult['uploads']): string {
  const rows = uploads.map((u) => {
    const answer =
      u.answer.kind === 'answered'
        ? `${u.answer.status}${u.answer.code ? ` ${esc(u.answer.code)}` : ''}${u.answer.retryAfterSeconds !== null ? ` · Retry-After ${u.answer.retryAfterSeconds} s` : ''} after ${Math.round(u.answer.at - u.at)} ms`
        : u.answer.kind === 'abandoned'
          ? `none: the client left after ${Math.round(u.answer.at - u.at)} ms`
          : 'none recorded';
    const file = u.body?.kind === 'multipart' ? u.body.files.map((f) => `${esc(f.field)}: ${f.bytes} bytes`).join(', ') : esc(u.body?.kind ?? 'no body');
    const fields = u.body?.kind === 'multipart' ? u.body.fields.map((f) => `${esc(f.name)}=${esc(f.value)}`).join(', ') : '';
    return `<tr><td>${u.number}</td><td>${Math.round(u.at)} ms</td><td>${file}</td><td>${fields}</td><td>${answer}</td></tr>`;
  });
  return `<table class="uploads"><thead><tr><th>upload</th><th>sent at</th><th>file</th><th>fields</th><th>answer</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function caseSection(r: CaseResult, i: number): string {
  const violations = r.violations.length ? `<ul>${r.violations.map((v) => violationItem(v, r.traces)).join('')}</ul>` : '<p class="none">no violated invariants</p>';
  const output = r.output ? `<details><summary>client output (last lines)</summary><pre>${esc(r.output)}</pre></details>` : '';
  const charts = r.traces.map((t, k) => `<details class="connection" open><summary>connection ${k + 1} · ${esc(t.source)} · ${t.frames.length} frames</summary>${chart(t)}</details>`);
  return [
    `<section class="case" id="case-${i}">`,
    `<h2>${esc(r.id)} ${verdictBadge(r.verdict)} ${esc(r.title)}</h2>`,
    r.transport === 'upload'
      ? `<p class="meta">${duration(r.durationMs)} · ${r.uploads.length} upload${r.uploads.length === 1 ? '' : 's'} · exit code ${r.exitCode ?? 'none (stopped)'}</p>`
      : `<p class="meta">${duration(r.durationMs)} · ${r.connections} connection${r.connections === 1 ? '' : 's'} · exit code ${r.exitCode ?? 'none (stopped)'}</p>`,
    `<h3>violated invariants</h3>${violations}${output}`,
    r.transport === 'upload' ? (r.uploads.length ? uploadsTable(r.uploads) : '<p class="none">no upload recorded</p>') : charts.length ? charts.join('\n') : '<p class="none">no stream session recorded</p>',
    '</section>',
  ].join('\n');
}

/** The report as one HTML document. */
export function htmlReport(result: CatalogueResult, title: string): string {
  const head = `<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title><style>${STYLE}</style></head>`;
  return ['<!DOCTYPE html>', '<html lang="en">', head, '<body>', SVG_DEFS, header(result, title), summaryTable(result.results), ...result.results.map(caseSection), '</body>', '</html>', ''].join('\n');
}

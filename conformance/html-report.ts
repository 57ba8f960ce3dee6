/**
 * HTML reports of a conformance run, each one self-contained file (inline CSS and SVG; no scripts,
 * fonts, images or other external resources; links only to files the run wrote next to it):
 *
 * - `htmlReport`: one client. The counts per verdict, a summary table, and per case what it does and
 *   the invariants it is about, how the client ended (its exit code and stderr when it crashed or
 *   never connected), the violated invariants with the frames that broke them, the command that
 *   re-runs it, a link to its kept recording, and the timeline of each connection (or of the upload's
 *   analysis), with the client's own view (its observation file) drawn under the server's and the
 *   differences highlighted.
 * - `matrixHtmlReport`: several clients side by side: cases × clients, each verdict linking to that
 *   case in that client's report.
 *
 * The charts come from the one timeline renderer (server/ui/timeline.js), shared with the live
 * dashboard. Everything taken from a trace or a client comes from outside the kit: it is escaped,
 * always. A violation names a frame index but not its connection: with several connections the frame
 * of that index is shown from each.
 */
import { relative, sep } from 'node:path';
import { createTimelineBuilder, describeSpan, diffSpans, isEmptyTimeline, renderLegend, renderTimeline, timelineFromAnalysis, TIMELINE_CSS, TIMELINE_DEFS, type ClientView, type SpanRecord, type TimelineData } from '../server/ui/timeline.js';
import { CLIENT_INVARIANTS, wireSpans, type Observation } from './client-invariants.js';
import { SERVER_INVARIANTS } from './invariants.js';
import type { CaseResult, CatalogueResult, Verdict } from './runner.js';
import type { Trace, TraceFrame } from './trace.js';
import { UPLOAD_SERVER_INVARIANTS } from './upload-server-invariants.js';
import { answerSpans } from './uploads.js';

const FRAME_TEXT_LIMIT = 2048;
const STDERR_LINES = 30;
const STATEMENTS = new Map<string, string>([...CLIENT_INVARIANTS, ...SERVER_INVARIANTS, ...UPLOAD_SERVER_INVARIANTS].map((i) => [i.id, i.statement]));

// ---- From a case to the renderer's data --------------------------------------------------------

/** The timeline of one connection, from its frames (the renderer's data model). */
export function timelineOf(trace: Trace): TimelineData {
  const builder = createTimelineBuilder();
  for (const f of trace.frames) {
    if (f.from === 'client' && f.kind === 'binary') builder.segment(f.bytes, f.mediaSeconds, f.index);
    else if (f.from === 'server' && f.kind === 'text' && f.event) builder.server(f.event, f.index);
  }
  return builder.data();
}

/** A client's spans as written: only records with a numeric start are drawn (the invariants report the rest). */
function reportedSpans(observations: Observation[]): SpanRecord[] | null {
  const final = observations.find((o): o is Extract<Observation, { kind: 'spans' }> => o.kind === 'spans');
  if (!final) return null;
  return final.spans.flatMap((s: unknown) => {
    const o = (s !== null && typeof s === 'object' ? s : {}) as Record<string, unknown>;
    const start = o['start'];
    const end = o['end'];
    return typeof start === 'number' && Number.isFinite(start) ? [{ signal_type: String(o['signal_type']), start, end: typeof end === 'number' && Number.isFinite(end) ? end : null }] : [];
  });
}

function reportedErrors(observations: Observation[]): { code: string; segment: number | null }[] {
  return observations.flatMap((o) => (o.kind === 'error' ? [{ code: String(o.code), segment: typeof o.segment === 'number' ? o.segment : null }] : []));
}

/** The client's view against what the wire implies (null: it wrote no observation file). */
function clientViewOf(r: CaseResult, expected: SpanRecord[], withErrors: boolean, caption?: string): ClientView | null {
  if (!r.observations) return null;
  return { spans: reportedSpans(r.observations), expected, errors: withErrors ? reportedErrors(r.observations) : null, ...(caption ? { caption } : {}) };
}

/** The last upload answered 200: the analysis the client's spans must match. */
function acceptedUpload(r: CaseResult) {
  return [...r.uploads].reverse().find((u) => u.answer.kind === 'answered' && u.answer.status === 200) ?? null;
}

// ---- HTML pieces -----------------------------------------------------------------------------

function esc(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const STYLE = `body{font:14px/1.5 system-ui,sans-serif;margin:24px auto;max-width:1040px;padding:0 16px;color:#212121}
h1{margin:0 0 8px;font-size:24px}h2{font-size:18px;margin:0 0 6px;display:flex;gap:10px;align-items:center}h3{font-size:14px;margin:14px 0 4px;color:#424242}
a{color:#1565c0}code{font-size:12.5px;background:#f5f5f5;padding:0 3px;border-radius:3px}
table{border-collapse:collapse}th,td{border-bottom:1px solid #e0e0e0;padding:4px 10px;text-align:left;vertical-align:top}td.n{text-align:right}th{font-size:12px;color:#616161;font-weight:600}
.verdict{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-weight:600;font-size:12px;white-space:nowrap}
.v-ok{background:#2e7d32}.v-non-strict{background:#b26a00}.v-failed{background:#c62828}.v-informational{background:#1565c0}
.case{border-top:2px solid #e0e0e0;margin-top:28px;padding-top:14px}.case.failed{border-top-color:#c62828}
.meta,.none{color:#616161}.description{margin:2px 0 6px}
.checks code{margin-right:4px}.violation{margin:6px 0}.sev{font-weight:600}.sev-error .sev{color:#c62828}.sev-warning .sev{color:#b26a00}
.crash{border-left:4px solid #c62828;background:#fdecea;padding:6px 12px;margin:8px 0}.crash pre{background:#fff}
.rerun{font-size:12.5px}.rerun code{user-select:all}
.diff{margin:4px 0 0 0}.diff li{color:#b71c1c}
pre{background:#f5f5f5;padding:8px;overflow:auto;max-height:320px;font-size:12px;margin:4px 0}summary{cursor:pointer}
.connection{margin:10px 0}.connection>summary{color:#424242;font-weight:600;margin-bottom:4px}
.timeline-legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:#424242;margin:8px 0}
.legend-swatch{display:inline-block;width:14px;height:12px;vertical-align:-2px;margin-right:5px;border:1px solid rgba(0,0,0,.15);box-sizing:border-box}
body.matrix-page{max-width:none}.matrix-wrap{overflow-x:auto}
table.matrix td,table.matrix th{text-align:center}table.matrix td.case-id,table.matrix td.case-title,table.matrix th.case-title{text-align:left}
table.matrix th{position:sticky;top:0;background:#fff;vertical-align:bottom}table.matrix td.case-title{min-width:16em;max-width:26em}
table.matrix td a{text-decoration:none}table.matrix tbody tr:hover td{background:#f5f5f5}table.matrix tbody tr.differs td.case-id{box-shadow:inset 3px 0 #c62828}
.client-head{font-size:13px;color:#212121;max-width:11em}.client-head .meta{font-weight:400;font-size:11.5px}
table.matrix tfoot td{font-size:12px;color:#424242;border-bottom:none;padding-top:8px}table.clients td{font-size:12.5px}
${TIMELINE_CSS}`;

const VERDICTS: Verdict[] = ['OK', 'NON-STRICT', 'FAILED', 'INFORMATIONAL'];
const verdictBadge = (v: Verdict) => `<span class="verdict v-${v.toLowerCase()}">${esc(v)}</span>`;
const duration = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
/** A case's anchor: its id (unique in a run). */
export const caseAnchor = (id: string) => `case-${id.replace(/[^\w.-]/g, '_')}`;

function page(title: string, body: string[], bodyClass?: string): string {
  const head = `<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title><style>${STYLE}</style></head>`;
  return ['<!DOCTYPE html>', '<html lang="en">', head, bodyClass ? `<body class="${bodyClass}">` : '<body>', TIMELINE_DEFS, ...body, '</body>', '</html>', ''].join('\n');
}

const counts = (c: Record<Verdict, number>) => VERDICTS.map((v) => `${verdictBadge(v)} ${c[v]}`).join(' &nbsp; ');

/** An href to a file the run wrote, relative to the report's folder. */
function hrefTo(file: string, from: string | undefined): string {
  const path = from === undefined ? file : relative(from, file);
  return path.split(sep).map(encodeURIComponent).join('/');
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

/** Where the client's spans differ from the wire's, in words (under the chart that draws them). */
function diffList(view: ClientView | null): string {
  if (!view?.spans) return '';
  const { missing, unexpected } = diffSpans(view.expected, view.spans);
  if (missing.length + unexpected.length === 0) return '';
  const items = [...missing.map((s) => `the client lacks ${esc(describeSpan(s))}`), ...unexpected.map((s) => `the client has ${esc(describeSpan(s))}, which the wire does not imply`)];
  return `<ul class="diff">${items.map((i) => `<li>${i}</li>`).join('')}</ul>`;
}

/** One chart in a collapsible block, or a sentence when it would be empty. */
function chartBlock(summary: string, data: TimelineData, label: string, emptyText: string): string {
  if (isEmptyTimeline(data)) return `<p class="none">${summary}: ${esc(emptyText)}</p>`;
  return `<details class="connection" open><summary>${summary}</summary>${renderTimeline(data, { label, emptyText })}${diffList(data.client ?? null)}</details>`;
}

/** A stream case: a chart per connection, the client's view under the last one. */
function streamCharts(r: CaseResult): string {
  if (r.traces.length === 0) return '<p class="none">no stream session recorded</p>';
  const expected = r.traces.flatMap((t) => wireSpans(t));
  const caption = r.traces.length > 1 ? `its final spans against those of all ${r.traces.length} connections` : undefined;
  const view = clientViewOf(r, expected, true, caption);
  const charts = r.traces.map((t, k) => {
    const data = timelineOf(t);
    if (k === r.traces.length - 1 && view) data.client = view;
    return chartBlock(`connection ${k + 1} · ${plural(t.frames.length, 'frame')}`, data, `timeline of connection ${k + 1}`, 'nothing on the media-time axis (no segment, signal, engagement, quality or error)');
  });
  const noFile = r.observations ? '' : '<p class="none">The client wrote no observation file: its own view is not known, only the wire is judged.</p>';
  return charts.join('\n') + noFile;
}

/** An upload case: the uploads, then the analysis the client got (its view under it). */
function uploadPart(r: CaseResult): string {
  if (r.uploads.length === 0) return '<p class="none">no upload recorded</p>';
  const accepted = acceptedUpload(r);
  const data = accepted && accepted.answer.kind === 'answered' ? timelineFromAnalysis(accepted.answer.json) : timelineFromAnalysis(null);
  const view = clientViewOf(r, accepted ? answerSpans(accepted) : [], false);
  const hasSomething = !isEmptyTimeline(data) || (view?.spans?.length ?? 0) > 0;
  if (view && hasSomething) data.client = view;
  const chart = hasSomething ? chartBlock(accepted ? `the analysis of upload ${accepted.number}` : 'no upload was analyzed', data, 'timeline of the upload\'s analysis', 'no upload was analyzed') : '<p class="none">no upload was analyzed, and the client reports no spans</p>';
  return uploadsTable(r.uploads) + chart;
}

function crashBox(r: CaseResult): string {
  const neverStarted = r.violations.some((v) => v.invariant === 'client.connects' || v.invariant === 'client.runs');
  if (r.verdict !== 'FAILED' || (r.exitCode === 0 && !neverStarted)) return '';
  const how = r.exitCode === null ? 'The client was stopped (it did not exit in time)' : `The client exited with code ${r.exitCode}`;
  const stderr = r.stderr.replace(/\r/g, '').split('\n').filter((l) => l.trim() !== '').slice(-STDERR_LINES);
  const never = r.transport === 'upload' ? ' without uploading' : ' without opening a stream session';
  return `<div class="crash"><strong>${how}${neverStarted ? never : ''}.</strong> ${stderr.length ? `Its stderr ends with:<pre>${esc(stderr.join('\n'))}</pre>` : 'Its stderr was empty.'}</div>`;
}

export interface HtmlReportOptions {
  /** The folder the report is written to: links to kept recordings are relative to it. */
  reportDir?: string;
  /** The command that re-runs just this case (null: none). */
  rerun?: (r: CaseResult) => string | null;
  /** The client's command, shown under the title. */
  client?: string;
}

function caseSection(r: CaseResult, options: HtmlReportOptions): string {
  const checks = r.stresses.length ? `<p class="checks">Checks ${r.stresses.map((id) => `<code title="${esc(STATEMENTS.get(id) ?? '')}">${esc(id)}</code>`).join('')} <span class="meta">(and every other client invariant)</span></p>` : '<p class="checks meta">Checks every client invariant.</p>';
  const recording = r.recording ? ` · recording: <a href="${esc(hrefTo(r.recording, options.reportDir))}">${esc(r.recording.split(sep).pop())}</a>` : '';
  const what = r.transport === 'upload' ? plural(r.uploads.length, 'upload') : plural(r.connections, 'connection');
  const violations = r.violations.length ? `<ul>${r.violations.map((v) => violationItem(v, r.traces)).join('')}</ul>` : '<p class="none">no violated invariants</p>';
  const rerun = r.verdict === 'FAILED' ? options.rerun?.(r) : null;
  const output = r.output ? `<details><summary>client output (last lines)</summary><pre>${esc(r.output)}</pre></details>` : '';
  return [
    `<section class="case${r.verdict === 'FAILED' ? ' failed' : ''}" id="${esc(caseAnchor(r.id))}">`,
    `<h2>${esc(r.id)} ${verdictBadge(r.verdict)} ${esc(r.title)}</h2>`,
    r.description ? `<p class="description">${esc(r.description)}</p>` : '',
    checks,
    `<p class="meta">${duration(r.durationMs)} · ${what} · exit code ${r.exitCode ?? 'none (stopped)'}${recording}</p>`,
    crashBox(r),
    `<h3>violated invariants</h3>${violations}`,
    rerun ? `<p class="rerun">re-run just this case: <code>${esc(rerun)}</code></p>` : '',
    `<h3>timeline</h3>`,
    r.transport === 'upload' ? uploadPart(r) : streamCharts(r),
    output,
    '</section>',
  ].join('\n');
}

function summaryTable(results: CaseResult[]): string {
  const rows = results.map((r) => `<tr><td><a href="#${esc(caseAnchor(r.id))}">${esc(r.id)}</a></td><td>${esc(r.title)}</td><td>${verdictBadge(r.verdict)}</td><td class="n">${duration(r.durationMs)}</td><td class="n">${r.transport === 'upload' ? r.uploads.length : r.connections}</td><td class="n">${r.violations.length}</td></tr>`);
  return `<table class="summary"><thead><tr><th>case</th><th>title</th><th>verdict</th><th>duration</th><th>connections / uploads</th><th>violations</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The report of one client's run as one HTML document. */
export function htmlReport(result: CatalogueResult, title: string, options: HtmlReportOptions = {}): string {
  const header = `<header><h1>${esc(title)}</h1>${options.client ? `<p class="meta">client: <code>${esc(options.client)}</code></p>` : ''}<p>${counts(result.counts)}</p><p class="meta">${plural(result.results.length, 'case')} in ${duration(result.durationMs)}</p>${renderLegend()}</header>`;
  return page(title, [header, summaryTable(result.results), ...result.results.map((r) => caseSection(r, options))]);
}

// ---- The matrix ----------------------------------------------------------------------------------

export interface MatrixReportColumn {
  name: string;
  command: string;
  result: CatalogueResult;
  /** The client's HTML report and JUnit file, relative to the matrix report. */
  reportHref: string;
  junitHref: string;
}

/** Cases × clients: each verdict links to that case in that client's report; `—` where a client did not run a case. */
export function matrixHtmlReport(title: string, cases: readonly { id: string; title: string; description: string }[], columns: readonly MatrixReportColumn[], durationMs: number): string {
  const byId = columns.map((c) => new Map(c.result.results.map((r) => [r.id, r])));
  const head = columns.map((c) => `<th class="client-head"><a href="${esc(c.reportHref)}" title="${esc(c.command)}">${esc(c.name)}</a><br><span class="meta"><a href="${esc(c.reportHref)}">report</a> · <a href="${esc(c.junitHref)}">JUnit</a></span></th>`);
  const rows = cases.map((k) => {
    const verdicts = columns.map((_, i) => byId[i]!.get(k.id)?.verdict);
    const cells = columns.map((c, i) => {
      const r = byId[i]!.get(k.id);
      return r ? `<td><a href="${esc(`${c.reportHref}#${caseAnchor(k.id)}`)}" title="${esc(`${c.name}: ${r.verdict}${r.violations.length ? ` — ${r.violations.map((v) => v.invariant).join(', ')}` : ''}`)}">${verdictBadge(r.verdict)}</a></td>` : '<td class="none" title="not run for this client">—</td>';
    });
    // A row where the clients do not all agree is where to look first.
    const differs = new Set(verdicts.filter((v) => v !== undefined)).size > 1;
    return `<tr${differs ? ' class="differs"' : ''}><td class="case-id">${esc(k.id)}</td><td class="case-title" title="${esc(k.description)}">${esc(k.title)}</td>${cells.join('')}</tr>`;
  });
  const totals = columns.map((c) => `<td>${VERDICTS.filter((v) => c.result.counts[v] > 0).map((v) => `${c.result.counts[v]} ${esc(v)}`).join('<br>') || 'no case'}</td>`);
  const header = `<header><h1>${esc(title)}</h1><p class="meta">${plural(columns.length, 'client')} × ${plural(cases.length, 'case')} in ${duration(durationMs)}. Each verdict links to the case in that client's report; a red mark flags a case the clients do not agree on.</p></header>`;
  const table = `<div class="matrix-wrap"><table class="matrix"><thead><tr><th>case</th><th class="case-title">title</th>${head.join('')}</tr></thead><tbody>${rows.join('')}</tbody><tfoot><tr><td></td><td class="case-title">totals</td>${totals.join('')}</tr></tfoot></table></div>`;
  const commands = `<h3>the clients</h3><table class="clients"><tbody>${columns.map((c) => `<tr><td><a href="${esc(c.reportHref)}">${esc(c.name)}</a></td><td><code>${esc(c.command)}</code></td></tr>`).join('')}</tbody></table>`;
  return page(title, [header, table, commands], 'matrix-page');
}

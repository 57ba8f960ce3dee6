/**
 * The HTML report on hand-made traces (no sockets): one self-contained document, every case and
 * verdict with its description and invariants, a chart per connection with a lane per signal type,
 * dropped coverage, errors with their code printed, the client's own view under the server's with
 * the differences, escaped untrusted text, and the violations of a FAILED case with their frames.
 * (The same reports of real runs, opened in Chromium: test/integration/conformance-reports.test.ts.)
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { wireSpans, type Observation } from './client-invariants.js';
import { htmlReport, matrixHtmlReport, timelineOf } from './html-report.js';
import type { CaseResult, CatalogueResult, Verdict } from './runner.js';
import { parseEvent, type Trace, type TraceFrame } from './trace.js';
import type { UploadExchange } from './uploads.js';

type FrameAt = (index: number, t: number) => TraceFrame;

const server = (type: string, data: unknown): FrameAt => (index, t) => {
  const text = JSON.stringify({ type, timestamp: '2026-01-01T00:00:00.000000Z', correlation_id: 'c0ffee', data });
  return { index, t, from: 'server', kind: 'text', text, event: parseEvent(text) };
};
const clientText = (text: string): FrameAt => (index, t) => ({ index, t, from: 'client', kind: 'text', text });
const segment = (mediaSeconds: number | null): FrameAt => (index, t) => ({ index, t, from: 'client', kind: 'binary', bytes: 50_000, mediaSeconds });
const close = (from: 'client' | 'server', code: number): FrameAt => (index, t) => ({ index, t, from, kind: 'close', code, reason: '' });

function traceOf(source: string, frames: FrameAt[]): Trace {
  return { source, upgradeCorrelationId: null, started: 0, frames: frames.map((make, i) => make(i, 100 * i)) };
}

const ATTACK = '<script>alert("pwned")</script>';
const scores = (q: number) => ({ quality_index: q, clarity: q, authority: q, energy: q, rapport: q, learning: q });

/** 12 s of media: confusion (low, then high) ended at 6, interest still active, a drop, an error on segment 2. */
const busy = traceOf('busy.jsonl#session 1', [
  server('session.ready', {}),
  clientText('{"include":["conversation_quality_timeline"]}'),
  segment(3),
  segment(3),
  segment(3),
  segment(3),
  server('signal.detected', { signal_type: 'confusion', start: 0, probability: 'low', rationale: ATTACK }),
  server('engagement.updated', { state: 'engaged', start: 0 }),
  server('conversation_quality.updated', { timeline: [{ start: 0, end: 5, values: scores(40) }] }),
  server('signal.updated', { signal_type: 'confusion', start: 0, probability: 'high', rationale: 'furrowed brow' }),
  server('signal.detected', { signal_type: 'interest', start: 4, probability: 'medium', rationale: 'leans in' }),
  server('signal.ended', { signal_type: 'confusion', end: 6 }),
  server('engagement.updated', { state: 'disengaged', start: 7 }),
  server('coverage.dropped', { ranges: [{ start: 8, end: 10 }] }),
  server('conversation_quality.updated', { timeline: [{ start: 5, end: 10, values: scores(80) }] }),
  server('error', { code: 'ih5004', message: 'unreadable segment', segment: 2 }),
  close('server', 1000),
]);

const BAD_CONFIG = '{"include":["everything"],"bogus":true}';
const firstTry = traceOf('broken#session 1', [server('session.ready', {}), clientText(BAD_CONFIG), segment(3), server('signal.detected', { signal_type: 'stress', start: 0, probability: 'high', rationale: 'fast speech' }), close('client', 1006)]);
const secondTry = traceOf('broken#session 2', [server('session.ready', {}), clientText('not json at all'), close('server', 1000)]);

function caseResult(id: string, verdict: Verdict, traces: Trace[], violations: CaseResult['violations'] = [], more: Partial<CaseResult> = {}): CaseResult {
  const base: CaseResult = { id, title: `case ${id} <b>bold</b>`, description: `what ${id} does`, stresses: ['client.spans-match'], verdict, violations, exitCode: verdict === 'FAILED' ? 1 : 0, durationMs: 1234, connections: traces.length, output: '', stderr: '', transport: 'stream', traces, uploads: [], observations: null, recording: null };
  return { ...base, ...more };
}

/** The client's view of `busy`: confusion as the wire implies, interest never closed, ih5004 surfaced. */
const busyView: Observation[] = [
  { kind: 'error', code: 'ih5004', segment: 2 },
  { kind: 'spans', spans: [{ signal_type: 'confusion', start: 0, end: 6 }, { signal_type: 'interest', start: 4, end: null }] },
];

const upload = (number: number, at: number, answer: UploadExchange['answer'], fields: { name: string; value: string }[] = []): UploadExchange => ({
  source: 'test',
  number,
  at,
  method: 'POST',
  contentType: 'multipart/form-data; boundary=x',
  authorization: 'Bearer [redacted]',
  query: '',
  body: { kind: 'multipart', fields, files: [{ field: 'file', filename: 'call.webm', content_type: 'video/webm', bytes: 92142, sha256: '0'.repeat(64) }] },
  answer,
});
const uploadCase: CaseResult = {
  ...caseResult('8.4', 'FAILED', [], [{ invariant: 'client.upload-retry', frame: null, message: 'upload 2 came 5 ms after 429 ih3002; it had to wait 1000 ms (Retry-After)', severity: 'error' }]),
  transport: 'upload',
  uploads: [
    upload(1, 100, { kind: 'answered', at: 112, status: 429, code: 'ih3002', retryAfterSeconds: 1, json: null, correlationId: null, contentType: null }, [{ name: 'include[]', value: '<conversation_quality_overall>' }]),
    upload(2, 117, { kind: 'abandoned', at: 2117 }),
  ],
};

const results: CaseResult[] = [
  caseResult('1.1', 'OK', [busy], [], { observations: busyView, recording: join('/reports', 'recordings', '1.1.wire.jsonl') }),
  caseResult('2.3', 'FAILED', [firstTry, secondTry], [
    { invariant: 'client.config-valid', frame: 1, message: 'neither a config frame nor session.close', severity: 'error' },
    { invariant: 'client.no-hammering', frame: null, message: 'reconnected 12 ms after connection 1 closed', severity: 'error' },
  ]),
  caseResult('3.1', 'NON-STRICT', [traceOf('idle#session 1', [server('session.ready', {}), server('error', { code: 'ih6003', message: 'idle', segment: null }), close('server', 4008)])], [
    { invariant: 'client.no-idle-timeout', frame: 1, message: 'the session timed out idle', severity: 'warning' },
  ]),
  caseResult('4.0', 'INFORMATIONAL', []),
  uploadCase,
];
const catalogue: CatalogueResult = { results, counts: { OK: 1, 'NON-STRICT': 1, FAILED: 2, INFORMATIONAL: 1 }, durationMs: 5678 };
const html = htmlReport(catalogue, 'Conformance of <my client>', { reportDir: '/reports', rerun: (r) => `npx ih-mock conformance --client x --cases ${r.id}` });
const charts = html.split('<svg class="timeline"').slice(1);
const section = (id: string) => html.slice(html.indexOf(`<h2>${id} `), html.indexOf('</section>', html.indexOf(`<h2>${id} `)));

describe('htmlReport', () => {
  it('is one self-contained document', () => {
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html.match(/<html/g)).toHaveLength(1);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/<script|<link|<img|@import|@font-face|url\(\s*["']?(https?:)?\/\//i);
    expect(html).toContain('<title>Conformance of &#60;my client&#62;</title>');
  });

  it('has the counts, the duration and every case with its verdict', () => {
    expect(html).toContain('5 cases in 5.7 s');
    for (const r of results) {
      expect(html).toContain(`>${r.id}</a>`);
      expect(section(r.id)).toContain(`class="verdict v-${r.verdict.toLowerCase()}">${r.verdict}<`);
    }
    expect(html).toContain('case 1.1 &#60;b&#62;bold&#60;/b&#62;');
  });

  it('draws one chart per connection with something to show, with one lane per signal type seen', () => {
    // 2.3's second connection has nothing on the media-time axis: a sentence, not an empty chart.
    expect(charts).toHaveLength(3);
    expect(section('2.3')).toContain('connection 2 · 3 frames: nothing on the media-time axis');
    const lanes = (svg: string) => [...svg.matchAll(/<g class="lane lane-signal"><text[^>]*>([^<]*)</g)].map((m) => m[1]);
    expect(lanes(charts[0]!)).toEqual(['confusion', 'interest']);
    expect(lanes(charts[1]!)).toEqual(['stress']);
    expect(lanes(charts[2]!)).toEqual([]);
    expect(charts.map((svg) => svg.includes('class="lane lane-engagement"'))).toEqual([true, false, false]);
    expect(section('4.0')).toContain('no stream session recorded');
  });

  it('says what each case does and which invariants it is about', () => {
    expect(section('1.1')).toContain('<p class="description">what 1.1 does</p>');
    expect(section('1.1')).toMatch(/Checks <code title="the client&#39;s final signal spans are the ones the wire implies[^"]*">client.spans-match<\/code>/);
  });

  it('prints each error\'s code at its media time (a segment error where that segment begins), not only in a tooltip', () => {
    const svg = charts[0]!;
    expect(svg).toMatch(/<g class="error-marker"><path[^>]*><\/path><text x="([\d.]+)"[^>]*>ih5004 · seg 2<\/text>/);
    const x = (t: number) => 150 + (t / 12) * (960 - 150 - 16);
    const markerX = Number(/<g class="error-marker"><path d="M([\d.]+) /.exec(svg)![1]) + 4;
    expect(markerX).toBeCloseTo(x(3), 0);
    expect(svg).toContain('class="error-line"');
    expect(charts[2]).toMatch(/>ih6003<\/text>/);
  });

  it('draws the client\'s own view under the server\'s, with the differences highlighted', () => {
    const svg = charts[0]!;
    const client = svg.slice(svg.indexOf('CLIENT · its own report'));
    expect(client.length).toBeLessThan(svg.length);
    // confusion matches the wire; interest has no end where the wire ends it at the last media time known.
    expect(client).toMatch(/<g class="lane lane-client"><text class="lane-label"[^>]*>confusion</);
    expect(client).toMatch(/<g class="lane lane-client differs"><text class="lane-label flagged"[^>]*>≠ interest/);
    expect(client).toContain('>no end</text>');
    expect(client).toContain('>missing [4, 10)</text>');
    expect(client).toMatch(/<g class="client-error surfaced">.*?>ih5004<\/text>/);
    expect(section('1.1')).toContain('<li>the client lacks interest [4, 10)</li>');
    expect(section('1.1')).toContain('<li>the client has interest [4, open), which the wire does not imply</li>');
    // Without an observation file: the wire only, and the report says so.
    expect(section('2.3')).not.toContain('CLIENT · its own report');
    expect(section('2.3')).toContain('The client wrote no observation file');
  });

  it('links the kept recording relative to the report, and shows the command that re-runs a failing case', () => {
    expect(section('1.1')).toContain('recording: <a href="recordings/1.1.wire.jsonl">1.1.wire.jsonl</a>');
    expect(section('2.3')).toContain('re-run just this case: <code>npx ih-mock conformance --client x --cases 2.3</code>');
    expect(section('1.1')).not.toContain('re-run');
  });

  it('draws the quality lane, with its scale, only when the session asked for the quality timeline', () => {
    expect(charts[0]).toMatch(/<g class="lane lane-quality">.*>100<\/text>/);
    const plainSession = traceOf('plain', [server('session.ready', {}), segment(3), server('signal.detected', { signal_type: 'stress', start: 0, probability: 'low', rationale: '' }), close('server', 1000)]);
    const asked = traceOf('asked', [server('session.ready', {}), server('session.updated', { include: ['conversation_quality_timeline'], goal_dimensions: null }), segment(3), close('server', 1000)]);
    const out = htmlReport({ results: [caseResult('1.1', 'OK', [plainSession, asked])], counts: { OK: 1, 'NON-STRICT': 0, FAILED: 0, INFORMATIONAL: 0 }, durationMs: 1 }, 'q');
    const [first, second] = out.split('<svg class="timeline"').slice(1);
    expect(first).not.toContain('lane-quality');
    expect(second).toContain('requested; no quality period received');
  });

  it('draws no empty chart: a connection with nothing on the media-time axis gets a sentence', () => {
    const empty = traceOf('empty', [server('session.ready', {}), close('client', 1000)]);
    const out = htmlReport({ results: [caseResult('1.1', 'OK', [empty])], counts: { OK: 1, 'NON-STRICT': 0, FAILED: 0, INFORMATIONAL: 0 }, durationMs: 1 }, 'e');
    expect(out).not.toContain('<svg class="timeline"');
    expect(out).toContain('connection 1 · 2 frames: nothing on the media-time axis');
  });

  it('shows how a client that never connected ended: its exit code and the tail of its stderr', () => {
    const crashed = caseResult('1.1', 'FAILED', [], [{ invariant: 'client.connects', frame: null, message: 'the client exited with code 1 without opening a stream session', severity: 'error' }], { stderr: 'line 1\nSyntaxError: Unexpected token \'<\'\n' });
    const out = htmlReport({ results: [crashed], counts: { OK: 0, 'NON-STRICT': 0, FAILED: 1, INFORMATIONAL: 0 }, durationMs: 1 }, 'c');
    expect(out).toContain('<div class="crash"><strong>The client exited with code 1 without opening a stream session.</strong> Its stderr ends with:<pre>line 1\nSyntaxError: Unexpected token &#39;&#60;&#39;</pre></div>');
  });

  it('shades dropped coverage, marks errors, open spans and probability changes', () => {
    const svg = charts[0]!;
    expect(svg.match(/class="dropped"/g)).toHaveLength(1);
    expect(svg).toContain('coverage dropped [8, 10) s');
    expect(svg).toContain('error ih5004 at 3 s (segment 2) (frame 15): unreadable segment');
    expect(svg).toContain('interest still active at 10 s');
    expect(svg.match(/class="change"/g)).toHaveLength(1);
    expect(svg).toContain('class="quality" points=');
    expect(charts[2]).toContain('error ih6003 at 0 s (frame 1): idle');
  });

  it('escapes text from the trace', () => {
    expect(html).not.toContain(ATTACK);
    expect(html).toContain('confusion low from 0 s: &#60;script&#62;alert(&#34;pwned&#34;)&#60;/script&#62;');
  });

  it('lists the violations of a FAILED case with the offending frames', () => {
    const failed = section('2.3');
    expect(failed).toContain('<code>client.config-valid</code> at frame 1: neither a config frame nor session.close');
    expect(failed).toContain('<code>client.no-hammering</code>: reconnected 12 ms after connection 1 closed');
    // Which connection the frame index belongs to is not recorded: both frames 1 are shown.
    expect(failed).toContain('connection 1, frame 1 · client → server · t=100 ms · text');
    expect(failed).toContain(JSON.stringify(JSON.parse(BAD_CONFIG), null, 2).replace(/"/g, '&#34;'));
    expect(failed).toContain('connection 2, frame 1 · client → server · t=100 ms · text</summary><pre>not json at all</pre>');
    expect(section('3.1')).toContain('frame 1 · server → client · t=100 ms');
  });

  it('lists an upload case\'s uploads: what was sent, and the answer or that the client left', () => {
    const up = section('8.4');
    expect(up).toContain('2 uploads');
    expect(up).not.toContain('<svg');
    expect(up).toContain('<td>1</td><td>100 ms</td><td>file: 92142 bytes</td><td>include[]=&#60;conversation_quality_overall&#62;</td><td>429 ih3002 · Retry-After 1 s after 12 ms</td>');
    expect(up).toContain('<td>none: the client left after 2000 ms</td>');
    expect(up).toContain('<code>client.upload-retry</code>: upload 2 came 5 ms after 429 ih3002');
  });

  it('truncates long frames to about 2 KB', () => {
    const long = 'x'.repeat(5000);
    const r = caseResult('9.9', 'FAILED', [traceOf('long', [clientText(long)])], [{ invariant: 'client.config-valid', frame: 0, message: 'not JSON', severity: 'error' }]);
    const out = htmlReport({ results: [r], counts: { OK: 0, 'NON-STRICT': 0, FAILED: 1, INFORMATIONAL: 0 }, durationMs: 1 }, 'long');
    expect(out).toContain(`${'x'.repeat(2048)}\n… (2952 more characters)`);
    expect(out).not.toContain('x'.repeat(2049));
  });
});

describe('timelineOf', () => {
  it('turns server events into spans, engagement periods, quality periods, drops, errors and the client\'s segments', () => {
    const tl = timelineOf(busy);
    expect(tl.known).toBe(10);
    expect(tl.sent).toBe(12);
    expect(tl.signals.map((s) => s.type)).toEqual(['confusion', 'interest']);
    const [confusion] = tl.signals[0]!.spans;
    expect(confusion).toMatchObject({ start: 0, end: 6 });
    expect(confusion!.steps.map((s) => [s.at, s.probability])).toEqual([[0, 'low'], [5, 'high']]);
    expect(tl.signals[1]!.spans).toMatchObject([{ start: 4, end: null }]);
    expect(tl.engagement).toEqual([{ start: 0, end: 7, state: 'engaged' }, { start: 7, end: null, state: 'disengaged' }]);
    expect(tl.quality.map((q) => q.value)).toEqual([40, 80]);
    expect(tl.qualityRequested).toBe(false);
    expect(tl.dropped).toEqual([{ start: 8, end: 10 }]);
    expect(tl.errors).toEqual([{ at: 3, code: 'ih5004', message: 'unreadable segment', segment: 2, ref: 15 }]);
    expect(tl.segments.map((s) => [s.number, s.start, s.end, s.errors])).toEqual([[1, 0, 3, []], [2, 3, 6, ['ih5004']], [3, 6, 9, []], [4, 9, 12, []]]);
  });

  it('ends an open span where the client invariants do: at the last media time the client knew of', () => {
    // Neither a dropped range nor an unknown type's times nor the media sent move it.
    const trace = traceOf('known', [
      server('session.ready', {}),
      segment(3),
      segment(3),
      server('signal.detected', { signal_type: 'stress', start: 2, probability: 'high', rationale: '' }),
      server('engagement.updated', { state: 'engaged', start: 4 }),
      server('coverage.dropped', { ranges: [{ start: 4, end: 9 }] }),
      server('feedback.generated', { start: 11, end: 12 }),
      close('server', 1006),
    ]);
    expect(wireSpans(trace)).toEqual([{ signal_type: 'stress', start: 2, end: 4 }]);
    expect(timelineOf(trace).known).toBe(4);
  });

  it('places an error that names no segment where the media had reached when it arrived', () => {
    const trace = traceOf('mid', [server('session.ready', {}), segment(3), segment(3), server('error', { code: 'ih1001', message: 'boom', segment: null }), segment(3), close('server', 1011)]);
    expect(timelineOf(trace).errors.map((e) => e.at)).toEqual([6]);
  });
});

describe('matrixHtmlReport', () => {
  it('is a table of cases × clients whose verdicts link to the case in each client\'s report', () => {
    const one = (verdict: Verdict) => ({ results: [caseResult('1.1', verdict, [])], counts: { OK: 0, 'NON-STRICT': 0, FAILED: 0, INFORMATIONAL: 0, [verdict]: 1 }, durationMs: 1 });
    const out = matrixHtmlReport('m', [{ id: '1.1', title: 'Handshake', description: 'd' }, { id: '8.1', title: 'Upload', description: 'u' }], [
      { name: 'good <one>', command: 'node good.mjs', result: one('OK'), reportHref: 'good-one/report.html', junitHref: 'good-one/junit.xml' },
      { name: 'bad', command: 'node bad.mjs', result: one('FAILED'), reportHref: 'bad/report.html', junitHref: 'bad/junit.xml' },
    ], 1000);
    expect(out).toContain('<a href="good-one/report.html">good &#60;one&#62;</a>');
    expect(out).toContain('<a href="good-one/report.html#case-1.1" title="good &#60;one&#62;: OK"><span class="verdict v-ok">OK</span></a>');
    expect(out).toMatch(/<a href="bad\/report.html#case-1.1" title="bad: FAILED"><span class="verdict v-failed">FAILED<\/span><\/a>/);
    expect(out).toContain('<a href="bad/junit.xml">JUnit</a>');
    expect(out).toContain('<tr class="differs"><td class="case-id">1.1</td>');
    expect(out).toContain('<td><code>node bad.mjs</code></td>');
    // 8.1 was not run for either client.
    expect(out.match(/title="not run for this client">—</g)).toHaveLength(2);
  });
});

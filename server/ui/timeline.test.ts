/**
 * The timeline renderer on its own (no sockets, no browser): the builder folds frames one at a time,
 * the diff matches spans as `client.spans-match` does, and the renderer is a pure function whose
 * text is escaped and whose labels do not collide. It imports nothing, so a browser can load the
 * file as it is (the browser side: test/integration/conformance-reports.test.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createTimelineBuilder, diffSpans, isEmptyTimeline, renderLegend, renderTimeline, timelineFromAnalysis, type TimelineData } from './timeline.js';

const detected = (signal_type: string, start: number, probability = 'high') => ({ type: 'signal.detected', data: { signal_type, start, probability, rationale: 'r' } });
const ended = (signal_type: string, end: number) => ({ type: 'signal.ended', data: { signal_type, end } });
const error = (code: string, segment: number | null = null) => ({ type: 'error', data: { code, message: `m ${code}`, segment } });

describe('createTimelineBuilder', () => {
  it('folds frames one at a time; each data() is a snapshot of what arrived so far', () => {
    const b = createTimelineBuilder();
    b.server({ type: 'session.ready', data: {} });
    b.segment(1000, 3);
    b.server(detected('stress', 0));
    const first = b.data();
    expect(first.signals).toEqual([{ type: 'stress', spans: [{ start: 0, end: null, steps: [{ at: 0, probability: 'high', rationale: 'r' }] }] }]);
    b.segment(1000, 3);
    b.server({ type: 'signal.updated', data: { signal_type: 'stress', start: 0, probability: 'low', rationale: 'calmer' } });
    b.server(ended('stress', 5));
    b.server(error('ih5004', 2));
    const second = b.data();
    expect(first.signals[0]!.spans[0]!.end).toBeNull(); // the earlier snapshot did not change
    expect(second.signals[0]!.spans[0]).toMatchObject({ start: 0, end: 5 });
    expect(second.signals[0]!.spans[0]!.steps.map((s) => s.probability)).toEqual(['high', 'low']);
    expect(second.errors).toEqual([{ at: 3, code: 'ih5004', message: 'm ih5004', segment: 2, ref: null }]);
    expect(second.segments.map((s) => s.errors)).toEqual([[], ['ih5004']]);
    expect([second.known, second.sent]).toEqual([5, 6]);
  });

  it('takes the quality lane as requested only when session.updated includes the quality timeline', () => {
    const b = createTimelineBuilder();
    b.server({ type: 'session.updated', data: { include: ['conversation_quality_overall'] } });
    expect(b.data().qualityRequested).toBe(false);
    b.server({ type: 'session.updated', data: { include: ['conversation_quality_timeline'] } });
    expect(b.data().qualityRequested).toBe(true);
  });

  it('survives data of the wrong shape (a broken server, a hand-edited recording)', () => {
    const b = createTimelineBuilder();
    for (const data of [null, 'x', [], { signal_type: 3, start: 'soon' }, { timeline: 'no' }, { ranges: [{ start: 1 }] }]) for (const type of ['signal.detected', 'signal.ended', 'engagement.updated', 'conversation_quality.updated', 'coverage.dropped', 'error']) b.server({ type, data });
    expect(() => renderTimeline(b.data())).not.toThrow();
  });
});

describe('diffSpans', () => {
  it('matches type, start and end exactly, each span at most once', () => {
    const a = { signal_type: 'agreement', start: 0, end: 6 };
    const { matched, missing, unexpected } = diffSpans([a, a, { signal_type: 'stress', start: 1, end: 2 }], [a, { signal_type: 'stress', start: 1, end: null }]);
    expect(matched).toEqual([a]);
    expect(missing).toEqual([a, { signal_type: 'stress', start: 1, end: 2 }]);
    expect(unexpected).toEqual([{ signal_type: 'stress', start: 1, end: null }]);
  });
});

describe('renderTimeline', () => {
  const empty: TimelineData = { signals: [], engagement: [], qualityRequested: false, quality: [], dropped: [], errors: [], segments: [], known: 0, sent: 0 };

  it('is a pure function of its data', () => {
    const data = { ...empty, signals: [{ type: 'stress', spans: [{ start: 1, end: 4, steps: [{ at: 1, probability: 'high' }] }] }], known: 4 };
    expect(renderTimeline(data)).toBe(renderTimeline(structuredClone(data)));
    expect(isEmptyTimeline(empty)).toBe(true);
    expect(isEmptyTimeline(data)).toBe(false);
  });

  it('escapes every text it is given', () => {
    const svg = renderTimeline({ ...empty, signals: [{ type: '<b>x</b>', spans: [{ start: 0, end: 1, steps: [{ at: 0, probability: '"><script>', rationale: '&' }] }] }], errors: [{ at: 0, code: '<i>', message: '</svg>', segment: null, ref: null }] }, { label: '<label>' });
    expect(svg).not.toMatch(/<(b|i|script|label)>/);
    expect(svg.match(/<\/svg>/g)).toHaveLength(1);
  });

  it('prints each error code; close ones go on separate rows, and one at the right edge is drawn to the left of its marker', () => {
    const errors = [0, 0.1, 24].map((at, i) => ({ at, code: `ih100${i}`, message: '', segment: null, ref: null }));
    const svg = renderTimeline({ ...empty, errors, sent: 24 });
    const texts = [...svg.matchAll(/<g class="error-marker"><path[^>]*><\/path><text x="([\d.]+)" y="([\d.]+)"([^>]*)>(ih\d+)<\/text>/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), rest: m[3], code: m[4] }));
    expect(texts.map((t) => t.code)).toEqual(['ih1000', 'ih1001', 'ih1002']);
    expect(texts[0]!.y).not.toBe(texts[1]!.y);
    expect(texts[2]!.rest).toContain('text-anchor="end"');
    expect(texts[2]!.x).toBeLessThan(944);
  });

  it('draws the upload answer\'s analysis: signals by their type, engagement, the quality timeline', () => {
    const data = timelineFromAnalysis({
      signals: [{ type: 'agreement', start: 0, end: 10, probability: 'high', rationale: 'nods' }],
      engagement_state: [{ start: 0, end: 5, state: 'engaged' }],
      conversation_quality: { timeline: [{ start: 0, end: 10, values: { quality_index: 70 } }] },
    });
    expect(data.signals).toEqual([{ type: 'agreement', spans: [{ start: 0, end: 10, steps: [{ at: 0, probability: 'high', rationale: 'nods' }] }] }]);
    expect(data).toMatchObject({ engagement: [{ start: 0, end: 5, state: 'engaged' }], quality: [{ start: 0, end: 10, value: 70 }], qualityRequested: true, known: 10 });
    expect(timelineFromAnalysis({ signals: [] }).qualityRequested).toBe(false);
  });

  it('imports nothing, so a browser loads the very file as an ES module', () => {
    const source = readFileSync(new URL('./timeline.js', import.meta.url), 'utf8');
    expect(source).not.toMatch(/^\s*import\s/m);
    expect(source).not.toMatch(/\brequire\(|\bprocess\.|\bdocument\.|\bwindow\./);
  });
});

describe('renderLegend', () => {
  it('names every mark by default (the report); a live view without client lanes leaves those out and says an open end is "so far"', () => {
    const report = renderLegend();
    expect(report).toContain('still active when the connection ended');
    expect(report).toContain('client span as the wire implies');
    const live = renderLegend({ live: true, client: false });
    expect(live).toContain('still active (so far, or when the connection ended)');
    expect(live).not.toContain('client span');
    expect(live).not.toContain('span the client lacks');
    for (const mark of ['high probability', 'engaged', 'coverage dropped', 'error (code printed)']) expect(live).toContain(mark);
  });
});

/**
 * Whole-file analysis for `POST /v1/upload/analyze` (docs/protocol.md §2): the same `WindowAnalysis` a
 * stream session runs, over one file whose media ends at its duration, and the events folded into
 * the upload body. Because the engine and its inputs are the same, an upload reports exactly the
 * spans a stream session reports for the same media sent as one self-contained segment and closed
 * gracefully (`test/integration/upload.test.ts` checks it).
 *
 * Folding rules (docs/analysis.md, "Uploads"):
 * - `signals[]`: one entry per lifecycle span, `start` = its `signal.detected` start, `end` = its
 *   `signal.ended` end; `probability` and `rationale` = those of the highest probability reported
 *   during the span (detected or any update; on a tie the earliest). In order of detection.
 * - `engagement_state[]`: each `engagement.updated` holds from its `start` to the next one's start,
 *   the last to the end of the file; empty spans are dropped and neighbours with the same state
 *   merged (so the spans are contiguous, non-empty and alternate in state).
 * - `conversation_quality` only when an include flag asks: `overall` = the last cumulative overall
 *   (which covers the whole file), `timeline` = every closed period in order.
 */
import type { Probability, QualityScores, SignalType, UploadQualityPeriod, UploadResponse, UploadSignal, EngagementSpan } from '../types/generated.js';
import type { AnalysisEvent } from './events.js';
import { INCLUDE_QUALITY_OVERALL, INCLUDE_QUALITY_TIMELINE } from './events.js';
import { WindowAnalysis, type WindowAnalysisOptions } from './index.js';

/** Include flags the upload understands; others are ignored (docs/protocol.md §2). */
export const UPLOAD_INCLUDE: readonly string[] = [INCLUDE_QUALITY_OVERALL, INCLUDE_QUALITY_TIMELINE];

export interface FileAnalysisInput extends WindowAnalysisOptions {
  /** Seconds of video in the file (its media end). */
  durationSeconds: number;
  /** Include flags (unknown ones are ignored). */
  include: readonly string[];
}

/** Scores when nothing contributed (docs/protocol.md §4). */
const NEUTRAL_SCORES: QualityScores = { quality_index: 50, clarity: 50, authority: 50, energy: 50, rapport: 50, learning: 50 };

const RANK: Readonly<Record<Probability, number>> = { low: 0, medium: 1, high: 2 };

/** Every event the engine produces for a file of `durationSeconds`, in emission order. */
export function fileEvents(input: FileAnalysisInput): AnalysisEvent[] {
  const { durationSeconds, include, ...options } = input;
  const analysis = new WindowAnalysis(options);
  const events: AnalysisEvent[] = [];
  for (const window of analysis.due(durationSeconds)) events.push(...analysis.analyze(window, include));
  events.push(...analysis.finish(durationSeconds, include).events);
  return events;
}

/** The 200 body of an upload: see the module header for the folding rules. */
export function analyzeFile(input: FileAnalysisInput): UploadResponse {
  const include = input.include.filter((flag) => UPLOAD_INCLUDE.includes(flag));
  return uploadBody(fileEvents({ ...input, include }), input.durationSeconds, include);
}

/** Fold a graceful session's events (media end `mediaEnd`) into the upload body. */
export function uploadBody(events: readonly AnalysisEvent[], mediaEnd: number, include: readonly string[]): UploadResponse {
  const signals: UploadSignal[] = [];
  const open = new Map<SignalType, UploadSignal>();
  const changes: { start: number; state: EngagementSpan['state'] }[] = [];
  const timeline: UploadQualityPeriod[] = [];
  let overall: QualityScores | undefined;

  for (const event of events) {
    switch (event.type) {
      case 'signal.detected': {
        const { signal_type: type, start, probability, rationale } = event.data;
        const span: UploadSignal = { type, start, end: start, probability, rationale };
        open.set(type, span);
        signals.push(span);
        break;
      }
      case 'signal.updated': {
        const span = open.get(event.data.signal_type);
        if (span && RANK[event.data.probability] > RANK[span.probability]) {
          span.probability = event.data.probability;
          span.rationale = event.data.rationale;
        }
        break;
      }
      case 'signal.ended': {
        const span = open.get(event.data.signal_type);
        if (span) span.end = event.data.end;
        open.delete(event.data.signal_type);
        break;
      }
      case 'engagement.updated':
        changes.push({ start: event.data.start, state: event.data.state });
        break;
      case 'conversation_quality.updated':
        if (event.data.overall) overall = event.data.overall;
        if (event.data.timeline) timeline.push(...event.data.timeline);
        break;
      default: {
        const unreachable: never = event;
        throw new Error(`unexpected event ${(unreachable as { type: string }).type}`);
      }
    }
  }
  if (open.size > 0) throw new Error(`signals still active after finish: ${[...open.keys()].join(', ')}`);

  const body: UploadResponse = { signals, engagement_state: engagementSpans(changes, mediaEnd) };
  const wantOverall = include.includes(INCLUDE_QUALITY_OVERALL);
  const wantTimeline = include.includes(INCLUDE_QUALITY_TIMELINE);
  if (wantOverall || wantTimeline) {
    body.conversation_quality = {
      // No period closed only for a file with no media at all: nothing contributed, so all 50.
      ...(wantOverall ? { overall: overall ?? NEUTRAL_SCORES } : {}),
      ...(wantTimeline ? { timeline } : {}),
    };
  }
  return body;
}

/** Contiguous engagement spans from the changes (each holds until the next), the last up to `mediaEnd`. */
export function engagementSpans(changes: readonly { start: number; state: EngagementSpan['state'] }[], mediaEnd: number): EngagementSpan[] {
  const spans: EngagementSpan[] = [];
  changes.forEach((change, k) => {
    const end = Math.max(change.start, k + 1 < changes.length ? changes[k + 1]!.start : mediaEnd);
    if (end <= change.start) return;
    const last = spans[spans.length - 1];
    if (last && last.state === change.state && last.end === change.start) last.end = end;
    else spans.push({ start: change.start, end, state: change.state });
  });
  return spans;
}

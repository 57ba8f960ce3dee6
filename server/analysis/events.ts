/**
 * The protocol events the analysis core produces (docs/protocol.md §3.3), as `{ type, data }` objects; the
 * session wraps them in the envelope (timestamp, correlation_id). All times are session-cumulative
 * media seconds.
 */
import type * as Wire from '../types/generated.js';

/**
 * The `{ type, data }` part of a wire event. The data types come from
 * schemas/stream-server-event.schema.json (via server/types/generated.ts), so what the core builds is
 * checked against the same source of truth the session validates envelopes with.
 */
type Unenveloped<E extends { type: string; data: unknown }> = { readonly type: E['type']; readonly data: E['data'] };

/** `signal.detected` / `signal.updated` data: flat, no `end` [real]. */
export type SignalStateData = Wire.SignalData;
export type SignalEndedData = Wire.SignalEndedData;
export type EngagementUpdatedData = Wire.EngagementUpdatedData;
/** Integer scores 0–100; `quality_index` is the rounded mean of the five (rounded) dimensions. */
export type QualityScores = Wire.QualityScores;
/** One closed quality period. */
export type QualityTimelineEntry = Wire.QualityPeriod;
/** `overall` iff `conversation_quality_overall`; `timeline` (the just-closed period) iff `conversation_quality_timeline`. */
export type ConversationQualityUpdatedData = Wire.ConversationQualityUpdatedData;

export type SignalDetectedEvent = Unenveloped<Wire.SignalDetectedEvent>;
export type SignalUpdatedEvent = Unenveloped<Wire.SignalUpdatedEvent>;
export type SignalEndedEvent = Unenveloped<Wire.SignalEndedEvent>;
export type EngagementUpdatedEvent = Unenveloped<Wire.EngagementUpdatedEvent>;
export type ConversationQualityUpdatedEvent = Unenveloped<Wire.ConversationQualityUpdatedEvent>;

/** Signal and engagement events: what the lifecycle differ emits. */
export type LifecycleEvent = SignalDetectedEvent | SignalUpdatedEvent | SignalEndedEvent | EngagementUpdatedEvent;

/** Every event the analysis core emits, discriminated on `type`. */
export type AnalysisEvent = LifecycleEvent | ConversationQualityUpdatedEvent;

/** Include flag asking for `data.overall`. */
export const INCLUDE_QUALITY_OVERALL = 'conversation_quality_overall';
/** Include flag asking for `data.timeline`. */
export const INCLUDE_QUALITY_TIMELINE = 'conversation_quality_timeline';

/**
 * `eventMediaTime` for an envelope read off the wire (any type, data not yet trusted): the number
 * in the field the rule names, or null.
 */
export function envelopeMediaTime(type: unknown, data: unknown): number | null {
  const d = data !== null && typeof data === 'object' ? (data as Record<string, unknown>) : {};
  const field = type === 'signal.detected' || type === 'engagement.updated' ? d['start'] : type === 'signal.ended' ? d['end'] : undefined;
  return typeof field === 'number' ? field : null;
}

/**
 * The media time an event reports for the session-wide ordering invariant: `signal.detected` →
 * `start`, `signal.ended` → `end`, `engagement.updated` → `start`. These are non-decreasing over a
 * session. `signal.updated` repeats the start of the span it updates and `conversation_quality.updated`
 * reports whole periods, so neither takes part (→ `null`).
 */
export function eventMediaTime(event: AnalysisEvent): number | null {
  switch (event.type) {
    case 'signal.detected':
      return event.data.start;
    case 'signal.ended':
      return event.data.end;
    case 'engagement.updated':
      return event.data.start;
    case 'signal.updated':
    case 'conversation_quality.updated':
      return null;
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

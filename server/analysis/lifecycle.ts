/**
 * Signal and engagement lifecycle: diffs consecutive window observations into events (docs/protocol.md §3.5:
 * a type present now and not before → detected; present in both with a changed probability →
 * updated; present before and absent now → ended. At most one active span per signal type).
 *
 * Invariants:
 * - Per type the events form detected → updated* → ended, and `finish` ends every active signal.
 * - Reported times (detected.start, ended.end, engagement.start) are non-decreasing over the whole
 *   session: every time reported for window k is its scripted time clamped into the window's
 *   reporting slot [k·hop, k·hop + hop] (a final window: [start, mediaEnd]). Slots of windows in
 *   index order follow each other, so times cannot go back even though windows overlap.
 * - Within one window: by media time, then ended < detected/updated < engagement, then type name.
 */
import type { EngagementState, Probability, SignalType } from '../types/generated.js';
import type { LifecycleEvent, SignalEndedEvent } from './events.js';
import type { WindowObservation } from './scenario-model.js';
import { DEFAULT_HOP_SECONDS, type Window } from './windows.js';

export interface SignalLifecycleOptions {
  /** Hop between window starts in seconds (default 3): the length of a window's reporting slot. */
  hopSeconds?: number;
}

/** A signal the client has been told is active. */
export interface ActiveSignal {
  readonly type: SignalType;
  /** The `start` sent in `signal.detected` (and repeated in `signal.updated`). */
  readonly reportedStart: number;
  readonly probability: Probability;
  readonly rationale: string;
  /** End of the scripted span last seen for this type (exclusive). */
  readonly spanEnd: number;
}

const RANK: Readonly<Record<LifecycleEvent['type'], number>> = {
  'signal.ended': 0,
  'signal.detected': 1,
  'signal.updated': 1,
  'engagement.updated': 2,
};

interface Keyed {
  readonly time: number;
  readonly name: string;
  readonly event: LifecycleEvent;
}

/** Within one window: by media time, then ended < detected/updated < engagement, then type name. */
function byTimeRankName(a: Keyed, b: Keyed): number {
  return a.time - b.time || RANK[a.event.type] - RANK[b.event.type] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Whether the window saw a span of `type` (at most twelve signals: a loop beats building a Set per window). */
function observes(observation: WindowObservation, type: SignalType): boolean {
  const signals = observation.signals;
  for (let k = 0; k < signals.length; k++) if (signals[k]!.type === type) return true;
  return false;
}

function clamp(t: number, lo: number, hi: number): number {
  return Math.min(Math.max(t, lo), hi);
}

/** Turns a sequence of window observations into signal and engagement events. */
export class SignalLifecycle {
  readonly hopSeconds: number;
  private readonly active = new Map<SignalType, ActiveSignal>();
  private engagement: EngagementState | null = null;
  /** Latest reported media time so far (0 before any event). */
  private cursor = 0;
  private lastIndex = -1;

  constructor(options: SignalLifecycleOptions = {}) {
    this.hopSeconds = options.hopSeconds ?? DEFAULT_HOP_SECONDS;
  }

  /** Signals currently active, by type name. */
  get activeSignals(): readonly ActiveSignal[] {
    return [...this.active.values()].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  }

  /** The engagement state last reported, or `null` before the first `engagement.updated`. */
  get engagementState(): EngagementState | null {
    return this.engagement;
  }

  /** The latest media time reported so far (detected.start, ended.end, engagement.start). */
  get lastReportedTime(): number {
    return this.cursor;
  }

  /** The reporting slot of a window: [k·hop, k·hop + hop], or [start, end] for a final window. */
  slot(window: Window): { start: number; end: number } {
    const start = Math.max(window.start, this.cursor);
    const end = window.final ? window.end : window.start + this.hopSeconds;
    return { start, end: Math.max(start, end) };
  }

  /** Events for the next analyzed window, given what it observed. Windows must come in index order. */
  diff(observation: WindowObservation): LifecycleEvent[] {
    const { window } = observation;
    if (window.index <= this.lastIndex) {
      throw new Error(`window ${window.index} diffed after window ${this.lastIndex}: windows must come in index order`);
    }
    this.lastIndex = window.index;
    // This runs for every window of every session: the slot as two numbers, no Set of the types seen.
    const slotStart = Math.max(window.start, this.cursor);
    const slotEnd = Math.max(slotStart, window.final ? window.end : window.start + this.hopSeconds);
    const out: Keyed[] = [];

    for (const signal of this.active.values()) {
      if (observes(observation, signal.type)) continue;
      const end = clamp(signal.spanEnd, slotStart, slotEnd);
      out.push({ time: end, name: signal.type, event: { type: 'signal.ended', data: { signal_type: signal.type, end } } });
      this.active.delete(signal.type);
    }

    for (const seen of observation.signals) {
      const current = this.active.get(seen.type);
      if (current === undefined) {
        const start = clamp(seen.spanStart, slotStart, slotEnd);
        out.push({
          time: start,
          name: seen.type,
          event: {
            type: 'signal.detected',
            data: { signal_type: seen.type, start, probability: seen.probability, rationale: seen.rationale },
          },
        });
        this.active.set(seen.type, {
          type: seen.type,
          reportedStart: start,
          probability: seen.probability,
          rationale: seen.rationale,
          spanEnd: seen.spanEnd,
        });
        continue;
      }
      const changed = current.probability !== seen.probability || current.rationale !== seen.rationale;
      if (changed) {
        out.push({
          // Ordered by when the change took effect; the data repeats the span's reported start.
          time: clamp(seen.since, slotStart, slotEnd),
          name: seen.type,
          event: {
            type: 'signal.updated',
            data: {
              signal_type: seen.type,
              start: current.reportedStart,
              probability: seen.probability,
              rationale: seen.rationale,
            },
          },
        });
      }
      if (changed || current.spanEnd !== seen.spanEnd) this.active.set(seen.type, { ...current, probability: seen.probability, rationale: seen.rationale, spanEnd: seen.spanEnd });
    }

    const engagement = observation.engagement;
    if (engagement !== null && engagement.state !== this.engagement) {
      const start = clamp(engagement.since, slotStart, slotEnd);
      out.push({ time: start, name: '', event: { type: 'engagement.updated', data: { state: engagement.state, start } } });
      this.engagement = engagement.state;
    }

    return this.emit(out);
  }

  /**
   * At graceful close: `signal.ended` for every still-active signal, with
   * end = max(last reported time, min(span end, mediaEnd)). Afterwards nothing is active.
   */
  finish(mediaEnd: number): SignalEndedEvent[] {
    const out: Keyed[] = [];
    for (const signal of this.active.values()) {
      const end = Math.max(this.cursor, Math.min(signal.spanEnd, mediaEnd));
      out.push({ time: end, name: signal.type, event: { type: 'signal.ended', data: { signal_type: signal.type, end } } });
    }
    this.active.clear();
    return this.emit(out) as SignalEndedEvent[];
  }

  private emit(out: Keyed[]): LifecycleEvent[] {
    if (out.length > 1) out.sort(byTimeRankName);
    for (const { event } of out) {
      if (event.type === 'signal.detected' || event.type === 'engagement.updated') this.cursor = Math.max(this.cursor, event.data.start);
      else if (event.type === 'signal.ended') this.cursor = Math.max(this.cursor, event.data.end);
    }
    return out.map((k) => k.event);
  }
}

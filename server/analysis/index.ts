/**
 * The analysis core: media progress + the scenario's ground truth → protocol events.
 *
 * Data flows one way: WindowScheduler (which windows are due) → ScenarioModel (what a window sees)
 * → SignalLifecycle (signal/engagement events) and QualityTracker (conversation quality). Everything
 * here is synchronous and pure apart from its own state; the session adds latency, the envelope and
 * the wire. See docs/analysis.md for the rules a user can predict events from.
 */
import type { Scenario } from '../types/generated.js';
import type { AnalysisEvent } from './events.js';
import { SignalLifecycle } from './lifecycle.js';
import { QualityTracker } from './quality.js';
import { ScenarioModel } from './scenario-model.js';
import { WindowScheduler, type Window } from './windows.js';

export type {
  AnalysisEvent,
  ConversationQualityUpdatedData,
  ConversationQualityUpdatedEvent,
  EngagementUpdatedData,
  EngagementUpdatedEvent,
  LifecycleEvent,
  QualityScores,
  QualityTimelineEntry,
  SignalDetectedEvent,
  SignalEndedData,
  SignalEndedEvent,
  SignalStateData,
  SignalUpdatedEvent,
} from './events.js';
export { eventMediaTime, INCLUDE_QUALITY_OVERALL, INCLUDE_QUALITY_TIMELINE } from './events.js';
export type { ObservedEngagement, ObservedSignal, WindowObservation } from './scenario-model.js';
export { DEFAULT_PRESENCE_OVERLAP_SECONDS, DEFAULT_RATIONALES, ScenarioModel, SIGNAL_TYPES } from './scenario-model.js';
export type { Window } from './windows.js';
export { DEFAULT_HOP_SECONDS, DEFAULT_WINDOW_SECONDS, WindowScheduler } from './windows.js';
export { SignalLifecycle } from './lifecycle.js';
export {
  DEFAULT_QUALITY_CADENCE_SECONDS,
  ENGAGEMENT_QUALITY_EFFECTS,
  PROBABILITY_WEIGHTS,
  QUALITY_DIMENSIONS,
  QualityTracker,
  SIGNAL_QUALITY_EFFECTS,
} from './quality.js';

export interface WindowAnalysisOptions {
  /** The ground truth, already validated by the scenario loader. */
  scenario: Scenario;
  /** Window length in seconds (default 8). */
  windowSeconds?: number;
  /** Seconds between window starts (default 3); also the length of a window's reporting slot. */
  hopSeconds?: number;
  /** Minimum overlap in seconds for a span to be present in a window (default 1). */
  presenceOverlapSeconds?: number;
  /** Minimum seconds between conversation-quality period ends (default 9). */
  qualityCadenceSeconds?: number;
}

/** One session's analysis: which windows are due, and the events each analyzed window produces. */
export class WindowAnalysis {
  private readonly scheduler: WindowScheduler;
  private readonly model: ScenarioModel;
  private readonly lifecycle: SignalLifecycle;
  private readonly quality: QualityTracker;
  private lastIndex = -1;
  private finished = false;

  constructor(options: WindowAnalysisOptions) {
    this.scheduler = new WindowScheduler({
      ...(options.windowSeconds !== undefined ? { windowSeconds: options.windowSeconds } : {}),
      ...(options.hopSeconds !== undefined ? { hopSeconds: options.hopSeconds } : {}),
    });
    this.model = ScenarioModel.shared(options.scenario, {
      ...(options.presenceOverlapSeconds !== undefined ? { presenceOverlapSeconds: options.presenceOverlapSeconds } : {}),
    });
    this.lifecycle = new SignalLifecycle({ hopSeconds: this.scheduler.hopSeconds });
    this.quality = new QualityTracker(this.model, {
      ...(options.qualityCadenceSeconds !== undefined ? { cadenceSeconds: options.qualityCadenceSeconds } : {}),
    });
  }

  /** The windows that became due now that media up to `mediaEnd` seconds has arrived (each once, in order). */
  due(mediaEnd: number): Window[] {
    return this.scheduler.advance(mediaEnd);
  }

  /**
   * Analyzes one window: its signal/engagement events, then its conversation-quality event (if a
   * period closed and `include` asks for it). Windows must come in strictly increasing index order;
   * skipping windows (shedding) is allowed. Throws on a window out of order or after `finish`.
   */
  analyze(window: Window, include: readonly string[]): AnalysisEvent[] {
    if (this.finished) throw new Error('WindowAnalysis.analyze called after finish');
    if (window.index <= this.lastIndex) {
      throw new Error(`window ${window.index} analyzed after window ${this.lastIndex}: windows must be analyzed in order`);
    }
    this.lastIndex = window.index;
    const events: AnalysisEvent[] = this.lifecycle.diff(this.model.observe(window));
    const quality = this.quality.onWindow(window, include);
    if (quality !== null) events.push(quality);
    return events;
  }

  /**
   * Graceful close with `mediaEnd` seconds of media: analyzes `revive` (a due window that was shed
   * but must be analyzed after all), every window still due and the final partial window (each only
   * if `keep` says so), then ends every still-active signal, then closes the last quality period.
   * Call it once, after every window `due` returned has been analyzed or shed. Returns the windows
   * analyzed, their events (`windowEvents`), the closing events (`closing`: signal.ended for every
   * active signal, the last quality period) and both together in order (`events`).
   */
  finish(
    mediaEnd: number,
    include: readonly string[],
    { revive = null, keep = () => true }: { revive?: Window | null; keep?: (window: Window) => boolean } = {},
  ): { windows: Window[]; windowEvents: AnalysisEvent[]; closing: AnalysisEvent[]; events: AnalysisEvent[] } {
    if (this.finished) throw new Error('WindowAnalysis.finish called twice');
    const flushed = this.scheduler.flush(mediaEnd).filter((w) => w.index > this.lastIndex && keep(w));
    const windows = revive && revive.index > this.lastIndex ? [revive, ...flushed] : flushed;
    const windowEvents: AnalysisEvent[] = [];
    for (const window of windows) windowEvents.push(...this.analyze(window, include));
    this.finished = true;
    const closing: AnalysisEvent[] = [...this.lifecycle.finish(mediaEnd)];
    const quality = this.quality.finish(mediaEnd, include);
    if (quality !== null) closing.push(quality);
    return { windows, windowEvents, closing, events: [...windowEvents, ...closing] };
  }
}

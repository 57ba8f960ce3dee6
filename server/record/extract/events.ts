/** The recorded events, parsed and repaired: what the reconstruction works from (see ../extract.ts). */
import { QUALITY_DIMENSIONS, type QualityDimension } from '../../analysis/quality.js';
import { DEFAULT_RATIONALES, SIGNAL_TYPES } from '../../analysis/scenario-model.js';
import type { EngagementState, Probability, QualityScores, SignalType } from '../../types/generated.js';
import { finite, fmt, isRecord } from './numbers.js';

export type Dims = Partial<Record<QualityDimension, number>>;

export type Clean =
  | { kind: 'detected'; type: SignalType; time: number; probability: Probability; rationale: string }
  | { kind: 'updated'; type: SignalType; start: number; probability: Probability; rationale: string }
  | { kind: 'ended'; type: SignalType; time: number }
  | { kind: 'engagement'; state: EngagementState; time: number }
  | { kind: 'quality'; overall: QualityScores | null; timeline: { start: number; end: number; values: QualityScores }[]; raw: Record<string, unknown> };

const PROBABILITIES: readonly Probability[] = ['low', 'medium', 'high'];
const STATES: readonly EngagementState[] = ['engaged', 'neutral', 'disengaged'];
const ANALYSIS_TYPES = ['signal.detected', 'signal.updated', 'signal.ended', 'engagement.updated', 'conversation_quality.updated'];
/** Protocol events that carry no analysis: skipped without a note. */
const OTHER_KNOWN_TYPES = ['session.ready', 'session.updated', 'session.closing', 'session.ended', 'error'];

export function scores(x: unknown): QualityScores | null {
  if (!isRecord(x)) return null;
  const out: Record<string, number> = {};
  for (const key of ['quality_index', ...QUALITY_DIMENSIONS]) {
    const v = finite(x[key]);
    if (v === null) return null;
    out[key] = v;
  }
  return out as unknown as QualityScores;
}

/** Reads the events; keeps the analysis ones that make sense, in order. */
export function parse(events: readonly unknown[], notes: string[]): Clean[] {
  const out: Clean[] = [];
  const skipped = new Map<string, number>();
  events.forEach((raw, i) => {
    const at = `event #${i}`;
    if (!isRecord(raw) || typeof raw['type'] !== 'string') {
      notes.push(`${at} is not an event object {type, data}; skipped`);
      return;
    }
    const type = raw['type'];
    if (!ANALYSIS_TYPES.includes(type)) {
      if (type === 'coverage.dropped') {
        notes.push(`${at}: coverage.dropped — the recording shed windows; events those windows would have produced cannot be reproduced, the replay analyzes every window`);
      } else if (!OTHER_KNOWN_TYPES.includes(type)) {
        skipped.set(type, (skipped.get(type) ?? 0) + 1);
      }
      return;
    }
    const data = raw['data'];
    if (!isRecord(data)) {
      notes.push(`${at} (${type}) has no data object; skipped`);
      return;
    }
    const bad = (why: string): void => void notes.push(`${at} (${type}): ${why}; skipped`);
    if (type === 'engagement.updated') {
      const state = data['state'];
      const time = finite(data['start']);
      if (!STATES.includes(state as EngagementState)) return bad(`unknown state ${JSON.stringify(state)}`);
      if (time === null || time < 0) return bad('start is not a time ≥ 0');
      out.push({ kind: 'engagement', state: state as EngagementState, time });
      return;
    }
    if (type === 'conversation_quality.updated') {
      const overall = data['overall'] === undefined ? null : scores(data['overall']);
      if (data['overall'] !== undefined && overall === null) notes.push(`${at} (${type}): overall is not a set of scores; ignored`);
      const timeline: { start: number; end: number; values: QualityScores }[] = [];
      if (Array.isArray(data['timeline'])) {
        for (const entry of data['timeline']) {
          const start = isRecord(entry) ? finite(entry['start']) : null;
          const end = isRecord(entry) ? finite(entry['end']) : null;
          const values = isRecord(entry) ? scores(entry['values']) : null;
          if (start === null || end === null || values === null || !(end > start) || start < 0) {
            notes.push(`${at} (${type}): a timeline entry is not {start, end, values}; ignored`);
            continue;
          }
          timeline.push({ start, end, values });
        }
      }
      if (overall === null && timeline.length === 0) return bad('neither overall nor timeline');
      out.push({ kind: 'quality', overall, timeline, raw: data });
      return;
    }
    const signalType = data['signal_type'];
    if (!SIGNAL_TYPES.includes(signalType as SignalType)) return bad(`unknown signal_type ${JSON.stringify(signalType)}`);
    const st = signalType as SignalType;
    if (type === 'signal.ended') {
      const time = finite(data['end']);
      if (time === null || time < 0) return bad('end is not a time ≥ 0');
      out.push({ kind: 'ended', type: st, time });
      return;
    }
    const probability = data['probability'];
    if (!PROBABILITIES.includes(probability as Probability)) return bad(`unknown probability ${JSON.stringify(probability)}`);
    let rationale = data['rationale'];
    if (typeof rationale !== 'string') {
      notes.push(`${at} (${type}): no rationale; the type's default one is used`);
      rationale = DEFAULT_RATIONALES[st];
    }
    const start = finite(data['start']);
    if (type === 'signal.detected') {
      if (start === null || start < 0) return bad('start is not a time ≥ 0');
      out.push({ kind: 'detected', type: st, time: start, probability: probability as Probability, rationale: rationale as string });
    } else {
      out.push({ kind: 'updated', type: st, start: start !== null && start >= 0 ? start : -1, probability: probability as Probability, rationale: rationale as string });
    }
  });
  if (skipped.size > 0) {
    notes.push(`skipped events of types ih-mock's analysis does not produce: ${[...skipped].map(([t, n]) => `${t} ×${n}`).join(', ')}`);
  }
  return out;
}

/**
 * Makes the sequence one the emulator could send: per type detected → updated* → ended, no update
 * without a change, no repeated engagement state, reported times never going back.
 */
export function repair(events: readonly Clean[], notes: string[]): Clean[] {
  const out: Clean[] = [];
  const active = new Map<SignalType, { start: number; probability: Probability; rationale: string }>();
  let engagement: EngagementState | null = null;
  let last = 0;
  const forward = (time: number, what: string): number => {
    if (time >= last) return (last = time);
    notes.push(`${what} reports ${fmt(time)} s, before the previous reported time ${fmt(last)} s (times never go back in ih-mock): moved to ${fmt(last)} s`);
    return last;
  };
  for (const ev of events) {
    switch (ev.kind) {
      case 'detected': {
        const current = active.get(ev.type);
        if (current !== undefined) {
          if (current.probability === ev.probability && current.rationale === ev.rationale) {
            notes.push(`signal.detected ${ev.type} while it is already active, with nothing new; skipped`);
          } else {
            notes.push(`signal.detected ${ev.type} while it is already active: taken as a signal.updated`);
            current.probability = ev.probability;
            current.rationale = ev.rationale;
            out.push({ kind: 'updated', type: ev.type, start: current.start, probability: ev.probability, rationale: ev.rationale });
          }
          break;
        }
        const time = forward(ev.time, `signal.detected ${ev.type}`);
        active.set(ev.type, { start: time, probability: ev.probability, rationale: ev.rationale });
        out.push({ ...ev, time });
        break;
      }
      case 'updated': {
        const current = active.get(ev.type);
        if (current === undefined) {
          // Its signal.detected was lost: the update's start (that detection's) is the best guess.
          const time = forward(ev.start >= 0 ? ev.start : last, `signal.updated ${ev.type} (taken as its lost signal.detected)`);
          notes.push(`signal.updated ${ev.type} without a signal.detected: taken as the detection (start ${fmt(time)} s)`);
          active.set(ev.type, { start: time, probability: ev.probability, rationale: ev.rationale });
          out.push({ kind: 'detected', type: ev.type, time, probability: ev.probability, rationale: ev.rationale });
          break;
        }
        if (current.probability === ev.probability && current.rationale === ev.rationale) {
          notes.push(`signal.updated ${ev.type} changes neither probability nor rationale (ih-mock never sends that); skipped`);
          break;
        }
        if (ev.start !== current.start) notes.push(`signal.updated ${ev.type} repeats start ${fmt(ev.start)} s, its detection said ${fmt(current.start)} s; the detection's is kept`);
        current.probability = ev.probability;
        current.rationale = ev.rationale;
        out.push({ ...ev, start: current.start });
        break;
      }
      case 'ended': {
        if (!active.has(ev.type)) {
          notes.push(`signal.ended ${ev.type} without an active signal.detected; skipped`);
          break;
        }
        active.delete(ev.type);
        out.push({ ...ev, time: forward(ev.time, `signal.ended ${ev.type}`) });
        break;
      }
      case 'engagement': {
        if (ev.state === engagement) {
          notes.push(`engagement.updated repeats the state ${ev.state} (ih-mock only reports changes); skipped`);
          break;
        }
        engagement = ev.state;
        out.push({ ...ev, time: forward(ev.time, `engagement.updated ${ev.state}`) });
        break;
      }
      case 'quality':
        out.push(ev);
        break;
    }
  }
  return out;
}

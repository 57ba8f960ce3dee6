/**
 * What the admin API sets up for sessions and uploads yet to come, per test scope: queued faults
 * (for the next N sessions, for the next N uploads) and defaults (scenario, seed, timing of new
 * sessions). The unscoped scope (test id null) serves sessions and uploads without a test id;
 * scoped defaults fall back to unscoped ones, then to the start-up options.
 *
 * Invariants: a queue entry is used by exactly `count` sessions (or uploads) of its scope, each
 * taking every entry's faults, oldest entry first; a scope with nothing queued and no defaults is
 * forgotten, so memory follows what is set up, not how many tests ever ran.
 */
import type { ResolvedScenario } from '../../scenarios/loader.js';
import type { TimingMode } from '../stream/timing.js';
import type { Fault, QueueState } from '../types/generated.js';

export type QueueKind = 'sessions' | 'uploads';

interface QueueEntry {
  readonly faults: readonly Fault[];
  remaining: number;
}

/** A default scenario: a built-in or random (`scenario` null: generated from each session's seed), or an object. */
export interface DefaultScenario {
  readonly name: string;
  readonly scenario: ResolvedScenario | null;
}

export interface Defaults {
  scenario?: DefaultScenario;
  seed?: number;
  timing?: TimingMode;
}

interface Scope {
  readonly sessions: QueueEntry[];
  readonly uploads: QueueEntry[];
  defaults: Defaults;
}

export class Scopes {
  private readonly scopes = new Map<string | null, Scope>();

  /** Queue `faults` for each of the next `count` sessions (or uploads) of scope `testId`. */
  push(kind: QueueKind, testId: string | null, faults: readonly Fault[], count: number): void {
    this.scope(testId)[kind].push({ faults, remaining: count });
  }

  /** One session (or upload) of scope `testId` starts: the faults queued for it, used up. */
  take(kind: QueueKind, testId: string | null): Fault[] {
    const scope = this.scopes.get(testId);
    if (scope === undefined || scope[kind].length === 0) return [];
    const queue = scope[kind];
    const faults = queue.flatMap((entry) => entry.faults);
    for (const entry of queue) entry.remaining--;
    queue.splice(0, queue.length, ...queue.filter((entry) => entry.remaining > 0));
    this.forgetIfEmpty(testId);
    return faults;
  }

  queueState(testId: string | null): QueueState {
    const scope = this.scopes.get(testId);
    const show = (queue: readonly QueueEntry[] | undefined) => (queue ?? []).map((e) => ({ faults: [...e.faults], remaining: e.remaining }));
    return { test_id: testId, sessions: show(scope?.sessions), uploads: show(scope?.uploads) };
  }

  /** Drop what is queued in scope `testId` (null: the unscoped scope only); returns how many entries. */
  clearQueue(testId: string | null): number {
    const scope = this.scopes.get(testId);
    if (scope === undefined) return 0;
    const n = scope.sessions.length + scope.uploads.length;
    scope.sessions.length = 0;
    scope.uploads.length = 0;
    this.forgetIfEmpty(testId);
    return n;
  }

  /** The defaults set for scope `testId` itself (no fallback). */
  ownDefaults(testId: string | null): Defaults {
    return this.scopes.get(testId)?.defaults ?? {};
  }

  /** What a new session of scope `testId` runs with: its scope's defaults over the unscoped ones. */
  defaultsFor(testId: string | null): Defaults {
    const unscoped = this.scopes.get(null)?.defaults ?? {};
    if (testId === null) return unscoped;
    return { ...unscoped, ...(this.scopes.get(testId)?.defaults ?? {}) };
  }

  /** Change scope `testId`'s defaults: a key given with undefined is left alone, with null removed. */
  setDefaults(testId: string | null, change: { [K in keyof Defaults]?: Defaults[K] | null }): void {
    const defaults = { ...this.scope(testId).defaults };
    for (const key of ['scenario', 'seed', 'timing'] as const) {
      if (!(key in change) || change[key] === undefined) continue;
      if (change[key] === null) delete defaults[key];
      else (defaults as Record<string, unknown>)[key] = change[key];
    }
    this.scope(testId).defaults = defaults;
    this.forgetIfEmpty(testId);
  }

  /** Scope `testId` back to nothing set (null: every scope); returns queue entries dropped and whether defaults were set. */
  reset(testId: string | null): { queued: number; defaults: boolean } {
    const targets = testId === null ? [...this.scopes.keys()] : [testId];
    let queued = 0;
    let defaults = false;
    for (const key of targets) {
      const scope = this.scopes.get(key);
      if (scope === undefined) continue;
      queued += scope.sessions.length + scope.uploads.length;
      defaults ||= Object.keys(scope.defaults).length > 0;
      this.scopes.delete(key);
    }
    return { queued, defaults };
  }

  private scope(testId: string | null): Scope {
    let scope = this.scopes.get(testId);
    if (scope === undefined) {
      scope = { sessions: [], uploads: [], defaults: {} };
      this.scopes.set(testId, scope);
    }
    return scope;
  }

  private forgetIfEmpty(testId: string | null): void {
    const scope = this.scopes.get(testId);
    if (scope && scope.sessions.length === 0 && scope.uploads.length === 0 && Object.keys(scope.defaults).length === 0) this.scopes.delete(testId);
  }
}

import { describe, expect, it } from 'vitest';
import type { Fault } from '../types/generated.js';
import { Scopes } from './scopes.js';

const f = (event_type: string): Fault => ({ action: 'unknown_event', event_type });

describe('Scopes', () => {
  it('gives each queued entry to exactly `count` sessions of its scope, every entry at once, oldest first', () => {
    const scopes = new Scopes();
    scopes.push('sessions', 'a', [f('x.one')], 2);
    scopes.push('sessions', 'a', [f('x.two')], 1);
    scopes.push('sessions', null, [f('x.unscoped')], 1);
    expect(scopes.take('sessions', 'b')).toEqual([]);
    expect(scopes.take('uploads', 'a')).toEqual([]);
    expect(scopes.take('sessions', 'a')).toEqual([f('x.one'), f('x.two')]);
    expect(scopes.queueState('a').sessions).toEqual([{ faults: [f('x.one')], remaining: 1 }]);
    expect(scopes.take('sessions', 'a')).toEqual([f('x.one')]);
    expect(scopes.take('sessions', 'a')).toEqual([]);
    expect(scopes.take('sessions', null)).toEqual([f('x.unscoped')]);
  });

  it('resolves defaults scope over unscoped; null removes a default; reset forgets a scope or all', () => {
    const scopes = new Scopes();
    scopes.setDefaults(null, { seed: 1, timing: 'instant' });
    scopes.setDefaults('a', { seed: 2 });
    expect(scopes.defaultsFor('a')).toEqual({ seed: 2, timing: 'instant' });
    expect(scopes.defaultsFor('b')).toEqual({ seed: 1, timing: 'instant' });
    scopes.setDefaults('a', { seed: null });
    expect(scopes.defaultsFor('a')).toEqual({ seed: 1, timing: 'instant' });
    scopes.push('uploads', 'a', [f('x.y')], 3);
    expect(scopes.reset('a')).toEqual({ queued: 1, defaults: false });
    expect(scopes.reset(null)).toEqual({ queued: 0, defaults: true });
    expect(scopes.defaultsFor('b')).toEqual({});
  });
});

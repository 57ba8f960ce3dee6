import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../server/paths.js';
import {
  DEFAULT_SCENARIO_NAME,
  ScenarioError,
  listScenarios,
  loadScenario,
  parseScenario,
  scenarioFromObject,
  validateScenario,
} from './loader.js';

/** The error a parse throws, so tests can look at both the message and the problems. */
function parseError(text: string, source = 'test.yaml'): ScenarioError {
  try {
    parseScenario(text, source);
  } catch (error) {
    if (error instanceof ScenarioError) return error;
    throw error;
  }
  throw new Error('expected a ScenarioError');
}

describe('built-in scenarios', () => {
  const builtIns = listScenarios();

  it('lists the library sorted by name, with the default and the test scenario among them', () => {
    const names = builtIns.map((s) => s.name);
    expect(names).toEqual([...names].sort());
    for (const name of ['conversation', 'quiet', 'steady', 'overloaded-server', 'quota-exhausted', 'one-hour']) expect(names).toContain(name);
    expect(builtIns.map((s) => s.name)).toContain(DEFAULT_SCENARIO_NAME);
  });

  it('docs/scenarios.md lists exactly the built-ins, in the table under "Built-in scenarios"', () => {
    const docs = readFileSync(join(PACKAGE_ROOT, 'docs', 'scenarios.md'), 'utf8');
    const section = docs.slice(docs.indexOf('## Built-in scenarios'), docs.indexOf('### `conversation`'));
    const documented = [...section.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual(builtIns.map((s) => s.name));
  });

  it.each(builtIns.map((s) => [s.name, s] as const))('%s parses, is named after its file and describes itself', (name, entry) => {
    const scenario = loadScenario(name);
    expect(scenario.name).toBe(name);
    expect(entry.path.endsWith(`${name}.yaml`)).toBe(true);
    expect(scenario.description.length).toBeGreaterThan(40);
    expect(entry.description).toBe(scenario.description);
  });

  it('conversation: 300 s loop, a signal within the first seconds, the engagement arc, no scripted quality', () => {
    const s = loadScenario('conversation');
    expect(s.duration).toBe(300);
    expect(s.loop).toBe(true);
    expect(Math.min(...s.signals.map((x) => x.start))).toBeLessThanOrEqual(3);
    expect(s.engagement.map((e) => e.state)).toEqual(['engaged', 'neutral', 'disengaged', 'engaged']);
    expect(s.quality).toEqual([]);
    expect(s.signals.filter((x) => (x.changes ?? []).length > 0).length).toBeGreaterThanOrEqual(5);
    // Overlapping signals of different types.
    const [interest, agreement] = s.signals;
    expect(interest && agreement && agreement.start < interest.end).toBe(true);
  });

  it('quiet: nothing but quality at 50', () => {
    const s = loadScenario('quiet');
    expect(s.signals).toEqual([]);
    expect(s.engagement).toEqual([]);
    expect(s.quality.length).toBeGreaterThan(0);
    for (const q of s.quality) expect(Object.values(q.values)).toEqual([50, 50, 50, 50, 50]);
  });

  it('steady: exactly the documented script', () => {
    const s = loadScenario('steady');
    expect(s.duration).toBeUndefined();
    expect(s.loop).toBe(false);
    expect(s.signals.map(({ type, start, end, probability, changes }) => ({ type, start, end, probability, changes: changes?.map((c) => [c.at, c.probability]) }))).toEqual([
      { type: 'agreement', start: 0, end: 20, probability: 'high', changes: undefined },
      { type: 'hesitation', start: 12, end: 30, probability: 'medium', changes: [[21, 'high']] },
    ]);
    expect(s.engagement).toEqual([
      { start: 0, state: 'engaged' },
      { start: 24, state: 'neutral' },
    ]);
    expect(s.quality).toEqual([{ start: 0, end: 30, values: { clarity: 70, authority: 60, energy: 80, rapport: 75, learning: 65 } }]);
  });

  it('returns deeply frozen scenarios with defaults filled in', () => {
    const s = loadScenario('steady');
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.signals[0])).toBe(true);
    expect(() => s.signals.push(s.signals[0]!)).toThrow(TypeError);
    const minimal = parseScenario('name: empty\n', 'empty.yaml');
    expect(minimal).toMatchObject({ name: 'empty', description: '', loop: false, signals: [], engagement: [], quality: [] });
  });
});

describe('error messages point at the right line', () => {
  it('wrong enum value: the line and column of the value', () => {
    const error = parseError(['name: x', 'signals:', '  - type: interest', '    start: 0', '    end: 5', '    probability: hgh', ''].join('\n'));
    expect(error.problems).toEqual([
      { source: 'test.yaml', line: 6, column: 18, path: '/signals/0/probability', message: 'must be one of low, medium, high (got "hgh")' },
    ]);
    expect(error.message).toContain('test.yaml:6:18: /signals/0/probability: must be one of low, medium, high (got "hgh")');
  });

  it('unknown signal type and unexpected key', () => {
    const error = parseError(['name: x', 'signals:', '  - type: joy', '    start: 0', '    end: 5', '    probability: low', '    colour: red', ''].join('\n'));
    expect(error.message).toContain('test.yaml:3:11: /signals/0/type: must be one of agreement,');
    expect(error.message).toContain('test.yaml:7:5: /signals/0/colour: unexpected key "colour"');
  });

  it('missing field: the position of its parent', () => {
    const error = parseError(['name: x', 'signals:', '  - type: interest', '    start: 0', '    end: 5', '    probability: low', '  - type: stress', '    start: 3', '    probability: low', ''].join('\n'));
    expect(error.problems.map((p) => [p.line, p.column, p.path, p.message])).toEqual([[7, 5, '/signals/1/end', 'is required']]);
  });

  it('missing name at the top: line 1', () => {
    const error = parseError('signals: []\n');
    expect(error.message).toContain('test.yaml:1:1: /name: is required');
  });

  it('end before start', () => {
    const error = parseError(['name: x', 'signals:', '  - type: interest', '    start: 0', '    end: 5', '    probability: low', '  - type: stress', '    start: 12', '    end: 3', '    probability: low', ''].join('\n'));
    expect(error.message).toContain('test.yaml:9:10: /signals/1/end: must be greater than start (12), got 3');
  });

  it('faults: each action takes its own parameters, and says which', () => {
    const faults = (lines: string[]) => parseError(['name: x', 'faults:', ...lines, ''].join('\n')).problems.map((p) => `${p.line}: ${p.path}: ${p.message}`);
    expect(faults(['  - action: throttle', '    seconds: 5'])).toEqual(['3: /faults/0: action throttle requires "bytes_per_second"']);
    expect(faults(['  - action: disconnect', '    windows: 2'])).toEqual(['4: /faults/0/windows: action disconnect takes no "windows" (it takes no parameters)']);
    expect(faults(['  - action: error', '    code: ih1001', '    close_code: 4000'])).toEqual(['5: /faults/0/close_code: only applies with "close: true"']);
    expect(faults(['  - action: close', '    close_code: 1005'])).toEqual(['4: /faults/0/close_code: must be a close code a server may send (1000-1003, 1007-1014 or 3000-4999), got 1005']);
    expect(faults(['  - action: close', `    reason: ${'é'.repeat(62)}`])).toEqual(['4: /faults/0/reason: must be at most 123 bytes in UTF-8 (a close frame\'s limit), got 124']);
    expect(faults(['  - action: missing_scope', '    when: { segment: 1 }'])).toEqual(['4: /faults/0/when: missing_scope happens at the upgrade, instead of session.ready: it takes no trigger']);
    expect(faults(['  - action: unknown_event', '    event_type: signal.detected'])[0]).toMatch(/signal.detected is a v1 event type/);
    // The schema: one trigger key, a known action.
    expect(faults(['  - action: disconnect', '    when: { segment: 1, media_seconds: 3 }'])[0]).toMatch(/\/faults\/0\/when: /);
    expect(faults(['  - action: explode'])[0]).toMatch(/\/faults\/0\/action: must be one of error, close, disconnect/);
  });

  it('upload faults: error, delay or disconnect, with an HTTP code, and only their own parameters', () => {
    const faults = (lines: string[]) => parseError(['name: x', 'faults:', ...lines, ''].join('\n')).problems.map((p) => `${p.line}: ${p.path}: ${p.message}`);
    expect(faults(['  - when: { upload: 1 }', '    action: throttle', '    bytes_per_second: 10'])).toEqual(['4: /faults/0/action: an upload fault (when: {upload: N}) is error, delay or disconnect, not throttle']);
    expect(faults(['  - when: { upload: 1 }', '    action: error', '    code: ih5004'])).toEqual(['5: /faults/0/code: ih5004 is a WebSocket-only code; an upload error needs a code with an HTTP status (see docs/errors.md)']);
    expect(faults(['  - when: { upload: 1 }', '    action: error', '    code: ih1001', '    close: true'])).toEqual(['6: /faults/0/close: action error on an upload takes no "close" (it takes "code", "message", "retry_after_seconds")']);
    expect(faults(['  - when: { upload: 2 }', '    action: delay', '    seconds: 3', '    windows: 2'])).toEqual(['6: /faults/0/windows: action delay on an upload takes no "windows" (it takes "seconds")']);
    // Retry-After is an HTTP header: a stream error has none.
    expect(faults(['  - action: error', '    code: ih3001', '    retry_after_seconds: 2'])).toEqual(['5: /faults/0/retry_after_seconds: action error takes no "retry_after_seconds" (it takes "code", "message", "segment", "close", "close_code", "reason")']);
    expect(() => parseScenario(['name: ok', 'faults:', '  - when: { upload: 1 }', '    action: error', '    code: ih3002', '    retry_after_seconds: 2', ''].join('\n'), 'ok.yaml')).not.toThrow();
  });

  it('load spans: end after start, and they must do something', () => {
    const error = parseError(['name: x', 'load:', '  - start: 10', '    end: 5', '    shed: all', '  - start: 0', '    end: 5', ''].join('\n'));
    expect(error.problems.map((p) => `${p.line}: ${p.path}: ${p.message}`)).toEqual([
      '4: /load/0/end: must be greater than start (10), got 5',
      '6: /load/1: does nothing: give "slowdown" and/or "shed" (redundant or all)',
    ]);
  });

  it('YAML syntax error', () => {
    const error = parseError(['name: x', 'signals:', '  - type: interest', '    start: [0', '    end: 5', ''].join('\n'));
    expect(error.problems.length).toBeGreaterThan(0);
    expect(error.problems[0]!.line).toBeGreaterThanOrEqual(4);
    expect(error.message).toMatch(/test\.yaml:\d+:\d+: YAML syntax error: /);
  });

  it('duplicate keys are a syntax error with a position', () => {
    const error = parseError(['name: x', 'name: y', ''].join('\n'));
    expect(error.message).toMatch(/test\.yaml:2:1: YAML syntax error: Map keys must be unique/);
  });

  it('lists every problem, sorted by line', () => {
    const error = parseError(
      ['name: x', 'loop: true', 'engagement:', '  - start: 10', '    state: engaged', '  - start: 5', '    state: bored', ''].join('\n'),
    );
    // The schema error (bad state) is reported; semantic checks wait for a schema-valid file.
    expect(error.problems.map((p) => `${p.line}: ${p.path}`)).toEqual(['7: /engagement/1/state']);
    const semantic = parseError(['name: x', 'loop: true', 'engagement:', '  - start: 10', '    state: engaged', '  - start: 5', '    state: neutral', ''].join('\n'));
    expect(semantic.problems.map((p) => `${p.line}: ${p.path}`)).toEqual(['2: /loop', '6: /engagement/1/start']);
    expect(semantic.message.split('\n')[0]).toBe('invalid scenario test.yaml (2 problems):');
  });
});

describe('semantic checks', () => {
  const base = { name: 'x', signals: [] as unknown[] };
  const signal = (type: string, start: number, end: number, extra: object = {}) => ({ type, start, end, probability: 'low', ...extra });
  const messages = (value: unknown): string[] => {
    const result = validateScenario(value);
    return result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
  };

  it('accepts adjacent spans of one type and overlapping spans of different types', () => {
    expect(messages({ ...base, signals: [signal('interest', 0, 10), signal('interest', 10, 20), signal('stress', 5, 15)] })).toEqual([]);
  });

  it('rejects overlapping spans of one type', () => {
    expect(messages({ ...base, signals: [signal('interest', 0, 10), signal('stress', 0, 4), signal('interest', 8, 20)] })).toEqual([
      '/signals/2/start: interest [8, 20) overlaps /signals/0 [0, 10); spans of one signal type must not overlap',
    ]);
  });

  it('changes must fall inside [start, end) and go forward', () => {
    const changes = [{ at: 5, probability: 'high' }, { at: 4, probability: 'low' }, { at: 10, probability: 'low' }, { at: 7 }];
    expect(messages({ ...base, signals: [signal('interest', 2, 10, { changes })] })).toEqual([
      "/signals/0/changes/1/at: must be greater than the previous change's at (5), got 4",
      "/signals/0/changes/2/at: must be within the signal's span [2, 10), got 10",
      '/signals/0/changes/3: changes nothing: give "probability" and/or "rationale"',
    ]);
  });

  it('quality end after start; loop needs duration; nothing past duration', () => {
    const values = { clarity: 50 };
    expect(messages({ name: 'x', loop: true, quality: [{ start: 5, end: 5, values }] })).toEqual([
      '/loop: loop: true requires "duration" (the length of one repetition)',
      '/quality/0/end: must be greater than start (5), got 5',
    ]);
    expect(messages({ name: 'x', duration: 10, signals: [signal('interest', 2, 12)], engagement: [{ start: 10, state: 'engaged' }] })).toEqual([
      '/signals/0/end: must be at most duration (10), got 12',
      '/engagement/0/start: must be less than duration (10), got 10',
    ]);
  });

  it('scenarioFromObject reports without positions', () => {
    expect(() => scenarioFromObject({ name: 'x', signals: [signal('interest', 3, 1)] }, 'inline')).toThrow(
      'inline: /signals/0/end: must be greater than start (3), got 1',
    );
    expect(scenarioFromObject({ name: 'x' }).signals).toEqual([]);
  });
});

describe('files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ih-mock-scenarios-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a JSON scenario file', () => {
    const path = join(dir, 'json-scenario.json');
    writeFileSync(path, JSON.stringify({ name: 'from-json', signals: [signal()] }, null, 2));
    const s = loadScenario(path);
    expect(s.name).toBe('from-json');
    expect(s.signals[0]?.type).toBe('interest');
    function signal() {
      return { type: 'interest', start: 1, end: 4, probability: 'high', rationale: 'Leans in.' };
    }
  });

  it('reports lines in JSON files too', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ name: 'bad', signals: [{ type: 'interest', start: 1, end: 4, probability: 'certain' }] }, null, 2));
    expect(() => loadScenario(path)).toThrow(`${path}:8:22: /signals/0/probability: must be one of low, medium, high (got "certain")`);
  });

  it('accepts JSON that YAML refuses (tab indentation)', () => {
    const path = join(dir, 'tabs.json');
    writeFileSync(path, '{\n\t"name": "tabs",\n\t"loop": false\n}\n');
    expect(loadScenario(path).name).toBe('tabs');
  });

  it('loads a YAML file by path', () => {
    const path = join(dir, 'mine.yml');
    writeFileSync(path, 'name: mine\nengagement:\n  - start: 0\n    state: neutral\n');
    expect(loadScenario(path).engagement).toEqual([{ start: 0, state: 'neutral' }]);
  });

  it('an unknown name lists the built-ins', () => {
    expect(() => loadScenario('no-such-scenario')).toThrow(/unknown scenario "no-such-scenario": not a built-in \(conversation, .*quiet, .*steady.*\) and no such file/);
  });
});

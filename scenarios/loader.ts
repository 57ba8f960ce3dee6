/**
 * Scenario files: parsing, validation and the built-in library (PRACTICES 11: scenarios are data,
 * validated before use). A scenario is YAML (or JSON, which YAML parses too) matching
 * `schemas/scenario.schema.json`, plus the semantic rules no schema can state (end after start,
 * changes inside their span, no overlapping spans of one signal type, ...). Every problem is
 * reported at once, each as `source:line:column: /json/pointer: message`, the position taken from
 * the YAML node of the offending field (or of its parent when the field is missing).
 *
 * Invariants: a scenario returned by this module passed every check, has its defaults filled in
 * (`description` '', `loop` false, empty `signals`/`engagement`/`quality`/`load`/`faults`) and is
 * deeply frozen.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import type { Document, LineCounter } from 'yaml';
import { SCENARIOS_DIR } from '../server/paths.js';
import { isSendableCloseCode } from '../server/close-codes.js';
import { ERROR_TABLE } from '../server/errors.js';
import type { Fault, FaultAction, LoadSpan, Scenario, ScriptedEngagement, ScriptedQuality, ScriptedSignal } from '../server/types/generated.js';
import { SERVER_EVENT_TYPES, validateScenarioObject, type Diagnostic, type ValidationResult } from '../server/validation.js';
import { yaml } from '../server/yaml.js';

/** The built-in scenario the server uses when none is named. */
export const DEFAULT_SCENARIO_NAME = 'conversation';

/** A scenario after validation, with defaults filled in. Deeply frozen at run time. */
export interface ResolvedScenario extends Scenario {
  description: string;
  loop: boolean;
  signals: ScriptedSignal[];
  engagement: ScriptedEngagement[];
  quality: ScriptedQuality[];
  load: LoadSpan[];
  faults: Fault[];
}

/** One problem in a scenario. `line`/`column` are 1-based, null when the scenario did not come from text. */
export interface ScenarioProblem {
  source: string;
  line: number | null;
  column: number | null;
  /** JSON pointer of the offending field, '' for the whole document or a syntax error. */
  path: string;
  message: string;
}

/** Thrown for an unreadable or invalid scenario; the message lists every problem, one per line. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(
    message: string,
    readonly source: string,
    readonly problems: readonly ScenarioProblem[] = [],
  ) {
    super(message);
  }
}

function formatProblem(p: ScenarioProblem): string {
  const where = p.line === null ? p.source : `${p.source}:${p.line}:${p.column ?? 1}`;
  return p.path === '' ? `${where}: ${p.message}` : `${where}: ${p.path}: ${p.message}`;
}

function fail(source: string, problems: ScenarioProblem[]): never {
  const sorted = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  const count = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
  throw new ScenarioError(`invalid scenario ${source} (${count}):\n${sorted.map(formatProblem).join('\n')}`, source, sorted);
}

// ---- Semantic checks -----------------------------------------------------------------------------

/** Rules beyond the schema. Assumes `s` already matches the schema. */
function semanticProblems(s: Scenario): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const duration = s.duration;
  const withinDuration = (path: string, value: number, inclusive: boolean): void => {
    if (duration !== undefined && (inclusive ? value > duration : value >= duration)) {
      problems.push({ path, message: `must be ${inclusive ? 'at most' : 'less than'} duration (${duration}), got ${value}` });
    }
  };

  if (s.loop === true && duration === undefined) {
    problems.push({ path: '/loop', message: 'loop: true requires "duration" (the length of one repetition)' });
  }

  const signals = s.signals ?? [];
  signals.forEach((signal, i) => {
    const at = `/signals/${i}`;
    if (!(signal.end > signal.start)) problems.push({ path: `${at}/end`, message: `must be greater than start (${signal.start}), got ${signal.end}` });
    withinDuration(`${at}/start`, signal.start, false);
    withinDuration(`${at}/end`, signal.end, true);
    let previousAt = -Infinity;
    (signal.changes ?? []).forEach((change, j) => {
      const path = `${at}/changes/${j}/at`;
      if (change.at < signal.start || change.at >= signal.end) {
        problems.push({ path, message: `must be within the signal's span [${signal.start}, ${signal.end}), got ${change.at}` });
      } else if (change.at <= previousAt) {
        problems.push({ path, message: `must be greater than the previous change's at (${previousAt}), got ${change.at}` });
      } else {
        previousAt = change.at;
      }
      if (change.probability === undefined && change.rationale === undefined) {
        problems.push({ path: `${at}/changes/${j}`, message: 'changes nothing: give "probability" and/or "rationale"' });
      }
    });
    // Half-open spans [start, end): one span may start where the previous one ended.
    for (let k = 0; k < i; k++) {
      const other = signals[k]!;
      if (other.type === signal.type && signal.start < other.end && other.start < signal.end) {
        problems.push({
          path: `${at}/start`,
          message: `${signal.type} [${signal.start}, ${signal.end}) overlaps /signals/${k} [${other.start}, ${other.end}); spans of one signal type must not overlap`,
        });
        break;
      }
    }
  });

  const engagement = s.engagement ?? [];
  engagement.forEach((entry, i) => {
    const previous = engagement[i - 1];
    if (previous !== undefined && !(entry.start > previous.start)) {
      problems.push({ path: `/engagement/${i}/start`, message: `must be greater than the previous entry's start (${previous.start}), got ${entry.start}; entries are sorted by start` });
    }
    withinDuration(`/engagement/${i}/start`, entry.start, false);
  });

  (s.quality ?? []).forEach((period, i) => {
    if (!(period.end > period.start)) problems.push({ path: `/quality/${i}/end`, message: `must be greater than start (${period.start}), got ${period.end}` });
    withinDuration(`/quality/${i}/start`, period.start, false);
    withinDuration(`/quality/${i}/end`, period.end, true);
  });

  (s.load ?? []).forEach((span, i) => {
    if (!(span.end > span.start)) problems.push({ path: `/load/${i}/end`, message: `must be greater than start (${span.start}), got ${span.end}` });
    if (span.slowdown === undefined && (span.shed ?? 'none') === 'none') {
      problems.push({ path: `/load/${i}`, message: 'does nothing: give "slowdown" and/or "shed" (redundant or all)' });
    }
  });

  (s.faults ?? []).forEach((fault, i) => problems.push(...faultProblems(fault, `/faults/${i}`)));
  return problems;
}

/** The parameters each fault action takes; `required` ones must be present, others are refused. */
const FAULT_PARAMETERS: Readonly<Record<FaultAction, { required: readonly (keyof Fault)[]; optional: readonly (keyof Fault)[] }>> = {
  error: { required: ['code'], optional: ['message', 'segment', 'close', 'close_code', 'reason'] },
  close: { required: [], optional: ['close_code', 'reason'] },
  disconnect: { required: [], optional: [] },
  delay: { required: ['seconds'], optional: ['windows'] },
  drop_windows: { required: [], optional: ['windows'] },
  quota_exhausted: { required: [], optional: [] },
  missing_scope: { required: [], optional: [] },
  throttle: { required: ['bytes_per_second'], optional: ['seconds'] },
  unknown_event: { required: [], optional: ['event_type', 'data'] },
};
const FAULT_COMMON: readonly (keyof Fault)[] = ['action', 'when', 'probability'];

/** What an upload fault (`when: {upload: N}`) may do, and the parameters each action takes there. */
const UPLOAD_FAULT_PARAMETERS: Readonly<Partial<Record<FaultAction, { required: readonly (keyof Fault)[]; optional: readonly (keyof Fault)[] }>>> = {
  error: { required: ['code'], optional: ['message', 'retry_after_seconds'] },
  delay: { required: ['seconds'], optional: [] },
  disconnect: { required: [], optional: [] },
};

function faultProblems(fault: Fault, at: string): Diagnostic[] {
  if (fault.when?.upload !== undefined) return uploadFaultProblems(fault, at);
  const problems: Diagnostic[] = [];
  const { required, optional } = FAULT_PARAMETERS[fault.action];
  problems.push(...parameterProblems(fault, at, required, optional, ''));
  if (fault.action === 'missing_scope' && fault.when !== undefined) {
    problems.push({ path: `${at}/when`, message: 'missing_scope happens at the upgrade, instead of session.ready: it takes no trigger' });
  }
  if (fault.action === 'error' && fault.close !== true) {
    for (const key of ['close_code', 'reason'] as const) {
      if (fault[key] !== undefined) problems.push({ path: `${at}/${key}`, message: `only applies with "close: true"` });
    }
  }
  // A close frame carries at most 123 bytes of reason (RFC 6455 5.5); the schema can only count characters.
  if (fault.reason !== undefined && Buffer.byteLength(fault.reason) > 123) {
    problems.push({ path: `${at}/reason`, message: `must be at most 123 bytes in UTF-8 (a close frame's limit), got ${Buffer.byteLength(fault.reason)}` });
  }
  if (fault.close_code !== undefined && !isSendableCloseCode(fault.close_code)) {
    problems.push({ path: `${at}/close_code`, message: `must be a close code a server may send (1000-1003, 1007-1014 or 3000-4999), got ${fault.close_code}` });
  }
  if (fault.event_type !== undefined && (SERVER_EVENT_TYPES as readonly string[]).includes(fault.event_type)) {
    problems.push({ path: `${at}/event_type`, message: `${fault.event_type} is a v1 event type; an unknown_event needs a type clients do not know, e.g. feedback.generated` });
  }
  return problems;
}

function uploadFaultProblems(fault: Fault, at: string): Diagnostic[] {
  const takes = UPLOAD_FAULT_PARAMETERS[fault.action];
  if (!takes) return [{ path: `${at}/action`, message: `an upload fault (when: {upload: N}) is error, delay or disconnect, not ${fault.action}` }];
  const problems = parameterProblems(fault, at, takes.required, takes.optional, ' on an upload');
  if (fault.code !== undefined && ERROR_TABLE[fault.code].http === null) {
    problems.push({ path: `${at}/code`, message: `${fault.code} is a WebSocket-only code; an upload error needs a code with an HTTP status (see docs/errors.md)` });
  }
  return problems;
}

/** Required parameters present, and no parameter the action does not take (`where`: ' on an upload' or ''). */
function parameterProblems(fault: Fault, at: string, required: readonly (keyof Fault)[], optional: readonly (keyof Fault)[], where: string): Diagnostic[] {
  const problems: Diagnostic[] = [];
  for (const key of required) {
    if (fault[key] === undefined) problems.push({ path: at, message: `action ${fault.action}${where} requires "${key}"` });
  }
  for (const key of Object.keys(fault) as (keyof Fault)[]) {
    if (!FAULT_COMMON.includes(key) && !required.includes(key) && !optional.includes(key)) {
      const takes = [...required, ...optional];
      problems.push({ path: `${at}/${key}`, message: `action ${fault.action}${where} takes no "${key}" (it takes ${takes.length === 0 ? 'no parameters' : takes.map((k) => `"${k}"`).join(', ')})` });
    }
  }
  return problems;
}

/**
 * Where faults given to the admin API go: armed on a live session, queued for the next sessions, or
 * queued for the next uploads (docs/control-plane.md).
 */
export type FaultDestination = 'live-session' | 'next-sessions' | 'uploads';

/**
 * The semantic problems of faults given to the admin API (the caller has checked them against the
 * schema): the rules and messages of a scenario's `faults`, with paths `/faults/<i>/...`, plus what
 * the destination rules out.
 */
export function faultListProblems(faults: readonly Fault[], destination: FaultDestination): Diagnostic[] {
  return faults.flatMap((fault, i) => {
    const at = `/faults/${i}`;
    if (destination === 'uploads') {
      if (fault.when !== undefined) return [{ path: `${at}/when`, message: 'a queued upload fault applies to each of the next uploads: drop "when"' }];
      const { when: _none, ...rest } = fault;
      return uploadFaultProblems({ ...rest, when: { upload: 1 } }, at);
    }
    if (fault.when?.upload !== undefined) return [{ path: `${at}/when/upload`, message: 'an upload trigger does not apply to stream sessions: queue upload faults with POST /__ih/queue/uploads' }];
    if (destination === 'live-session' && fault.action === 'missing_scope') {
      return [{ path: `${at}/action`, message: 'missing_scope replaces session.ready, which this session has already sent: queue it for the next session (POST /__ih/queue/sessions)' }];
    }
    return faultProblems(fault, at);
  });
}

/** Schema and semantic checks of an in-memory scenario (e.g. one built by a test). */
export function validateScenario(value: unknown): ValidationResult {
  const schema = validateScenarioObject(value);
  if (!schema.ok) return schema;
  const semantic = semanticProblems(value as Scenario);
  return semantic.length === 0 ? { ok: true } : { ok: false, errors: semantic };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function resolved(s: Scenario): ResolvedScenario {
  return deepFreeze({
    ...structuredClone(s),
    description: s.description ?? '',
    loop: s.loop ?? false,
    signals: structuredClone(s.signals ?? []),
    engagement: structuredClone(s.engagement ?? []),
    quality: structuredClone(s.quality ?? []),
    load: structuredClone(s.load ?? []),
    faults: structuredClone(s.faults ?? []),
  });
}

/** Validates an in-memory scenario object; throws `ScenarioError` (without positions) when invalid. */
export function scenarioFromObject(value: unknown, source = '<scenario object>'): ResolvedScenario {
  const result = validateScenario(value);
  if (!result.ok) fail(source, result.errors.map((d) => ({ source, line: null, column: null, ...d })));
  return resolved(value as Scenario);
}

// ---- Parsing text --------------------------------------------------------------------------------

interface Position {
  line: number;
  column: number;
}

/**
 * Where the field at `pointer` is written: the value of a scalar field (its key with `atKey`, or
 * when the value is a collection), the item of a sequence; the deepest existing ancestor when the
 * field itself is missing.
 */
function locate(doc: Document.Parsed, lines: LineCounter, pointer: string, atKey: boolean): Position {
  const { isAlias, isMap, isScalar, isSeq } = yaml();
  let node: unknown = doc.contents;
  let offset = doc.contents?.range[0] ?? 0;
  for (const raw of pointer.split('/').slice(1)) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === token);
      if (!pair) break;
      const key = pair.key as { range?: [number, number, number] } | null;
      const value = pair.value as { range?: [number, number, number] } | null;
      offset = (!atKey && isScalar(value) && value.range ? value.range[0] : key?.range?.[0]) ?? offset;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(token)] as { range?: [number, number, number] } | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

/**
 * Parses and validates a scenario written in YAML or JSON. `source` names it in messages (a path).
 * Throws `ScenarioError` listing every problem as `source:line:column: /pointer: message`.
 */
export function parseScenario(text: string, source: string): ResolvedScenario {
  const { LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  let value: unknown;
  let positions = true;
  if (doc.errors.length > 0) {
    // YAML parses nearly all JSON; for a .json file that YAML rejects (tabs, duplicate keys) JSON.parse decides.
    const json = extname(source).toLowerCase() === '.json' ? tryJson(text) : undefined;
    if (json === undefined) {
      fail(
        source,
        doc.errors.map((e) => {
          const at = e.linePos?.[0];
          return { source, line: at?.line ?? 1, column: at?.col ?? 1, path: '', message: `YAML syntax error: ${e.message.split('\n')[0]}` };
        }),
      );
    }
    value = json.value;
    positions = false;
  } else {
    value = doc.toJS();
  }

  const result = validateScenario(value);
  if (!result.ok) {
    fail(
      source,
      result.errors.map((d) => {
        const at = positions ? locate(doc, lines, d.path, d.message.startsWith('unexpected key')) : { line: 1, column: 1 };
        return { source, line: at.line, column: at.column, ...d };
      }),
    );
  }
  return resolved(value as Scenario);
}

function tryJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

// ---- Files and the built-in library --------------------------------------------------------------

const BUILT_IN_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

function builtInPath(name: string): string | undefined {
  if (!BUILT_IN_NAME.test(name)) return undefined;
  const path = join(SCENARIOS_DIR, `${name}.yaml`);
  return existsSync(path) ? path : undefined;
}

/** The names of the built-in scenarios, sorted (without reading them). */
export function builtInScenarioNames(): string[] {
  return readdirSync(SCENARIOS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => basename(f, '.yaml'))
    .sort();
}

/** Built-ins parsed once per process: they ship with the package and come back deeply frozen, so sharing them is safe. */
const builtInCache = new Map<string, ResolvedScenario>();

/**
 * Loads a built-in scenario by name (`scenarios/<name>.yaml`; a built-in name wins over a file of
 * the same name in the working directory) or a YAML/JSON file by path.
 */
export function loadScenario(nameOrPath: string): ResolvedScenario {
  const builtIn = builtInPath(nameOrPath);
  const cached = builtIn ? builtInCache.get(builtIn) : undefined;
  if (cached) return cached;
  const path = builtIn ?? resolve(nameOrPath);
  const source = builtIn ?? nameOrPath;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new ScenarioError(`unknown scenario "${nameOrPath}": not a built-in (${builtInScenarioNames().join(', ')}) and ${reason}`, nameOrPath);
  }
  const scenario = (builtIn && compiledBuiltIn(basename(builtIn, '.yaml'), text, source)) || parseScenario(text, source);
  if (builtIn) builtInCache.set(builtIn, scenario);
  return scenario;
}

/** Where the build writes the built-in scenarios as JSON (`compile-built-ins.ts`). */
export const COMPILED_BUILT_INS_PATH = join(SCENARIOS_DIR, 'built-in.generated.json');

/** One built-in as compiled at build: its YAML text's SHA-256 and the scenario it gave. */
export interface CompiledBuiltIn {
  sha256: string;
  scenario: ResolvedScenario;
}

let compiledBuiltIns: Record<string, CompiledBuiltIn> | null | undefined;

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A built-in from the JSON compiled at build, when it was compiled from this very text (an edited
 * YAML file, or no build yet, falls back to parsing it): parsing YAML is most of what loading the
 * built-ins costs. It still goes through every check (`scenarioFromObject`).
 */
function compiledBuiltIn(name: string, text: string, source: string): ResolvedScenario | undefined {
  if (compiledBuiltIns === undefined) {
    try {
      compiledBuiltIns = JSON.parse(readFileSync(COMPILED_BUILT_INS_PATH, 'utf8')) as Record<string, CompiledBuiltIn>;
    } catch {
      compiledBuiltIns = null;
    }
  }
  const compiled = compiledBuiltIns && Object.hasOwn(compiledBuiltIns, name) ? compiledBuiltIns[name] : undefined;
  return compiled && compiled.sha256 === sha256(text) ? scenarioFromObject(compiled.scenario, source) : undefined;
}

/** The built-in scenarios, sorted by name; `name` is what `loadScenario` accepts. */
export function listScenarios(): { name: string; description: string; path: string }[] {
  return builtInScenarioNames().map((name) => {
    const path = join(SCENARIOS_DIR, `${name}.yaml`);
    return { name, description: loadScenario(name).description, path };
  });
}

/**
 * Validation of wire messages and file formats against the JSON Schemas in `schemas/`, the single
 * source of truth (PRACTICES 5). The validators are compiled ahead of time, by
 * `schemas/generate-validators.ts` at build, into `server/validators/`: one Ajv instance knew all
 * the schemas (so cross-file `$ref`s such as `common.schema.json#/$defs/SignalType` resolve), and
 * nothing compiles or reads a schema at run time. All but the scenario's are loaded on first use
 * (`wire()`), not at start-up. Ajv's errors are turned into `Diagnostic`s: a
 * JSON pointer to the offending value (or to the missing / unexpected key itself) and a short
 * message a person can act on.
 *
 * Invariants: validators never throw on any input; a valid value yields `{ ok: true }`; an invalid
 * one yields at least one diagnostic, with duplicates removed.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { AdminSchema } from './schema-files.js';
import type { ServerEvent, SessionConfigFrame } from './types/generated.js';
import { requireCjs } from './require-cjs.js';
import * as firstProblem from './validators/client-frames-first-problem.js';
import { SERVER_EVENT_TYPES as EVENT_TYPES } from './validators/event-types.js';
import { scenario as scenarioValidator } from './validators/scenario.js';

export type { AdminSchema };

/** One problem found in a value: where (a JSON pointer, `""` for the value itself) and what. */
export interface Diagnostic {
  /** JSON pointer into the validated value, e.g. `/signals/2/end`; for a missing or unexpected key, the key's own pointer. */
  path: string;
  /** Readable message, e.g. `must be one of low, medium, high (got "hgh")` or `unexpected key "type"`. */
  message: string;
}

export type ValidationResult = { ok: true } | { ok: false; errors: Diagnostic[] };

/** The `type` of every server event, in schema order. */
export const SERVER_EVENT_TYPES = EVENT_TYPES as readonly ServerEvent['type'][];

type WireValidators = typeof import('./validators/wire.cjs');
let wireValidators: WireValidators | undefined;

/**
 * Every validator but the scenario's and the first-problem client frames': over half a megabyte of
 * generated code, which a start-up would spend some 25 ms of CPU reading and compiling. Loaded on
 * first use, or earlier by `loadWireValidators` (a server calls it just after its readiness line).
 */
function wire(): WireValidators {
  return (wireValidators ??= requireCjs('./validators/wire.cjs') as WireValidators);
}

/** Loads the validators `wire()` loads on first use, now (idempotent). */
export function loadWireValidators(): void {
  wire();
}

// ---- Ajv errors to diagnostics -------------------------------------------------------------------

function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A short rendering of a value for messages: JSON, cut at 60 characters. */
export function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** A key as quoted in messages, cut like a value: a frame may hold a 60-KB key. */
function describeKey(key: unknown): string {
  return describeValue(String(key));
}

const TYPE_WITH_ARTICLE: Record<string, string> = {
  array: 'an array',
  object: 'an object',
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean',
  null: 'null',
};

function withArticle(type: string): string {
  return TYPE_WITH_ARTICLE[type] ?? type;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function diagnosticOf(error: ErrorObject): Diagnostic {
  const at = error.instancePath;
  const got = `(got ${describeValue(error.data)})`;
  const params = error.params as Record<string, unknown>;
  const parent = (error.parentSchema ?? {}) as { description?: unknown; properties?: Record<string, unknown> };
  switch (error.keyword) {
    case 'required':
      return { path: `${at}/${escapePointerToken(String(params['missingProperty']))}`, message: 'is required' };
    case 'additionalProperties':
      return { path: `${at}/${escapePointerToken(String(params['additionalProperty']))}`, message: `unexpected key ${describeKey(params['additionalProperty'])}` };
    case 'enum':
      return { path: at, message: `must be one of ${(params['allowedValues'] as unknown[]).map(String).join(', ')} ${got}` };
    case 'const':
      return { path: at, message: `must be ${JSON.stringify(params['allowedValue'])} ${got}` };
    case 'type': {
      const types = String(params['type']).split(',');
      return { path: at, message: `must be ${types.map(withArticle).join(' or ')} ${got}` };
    }
    case 'format':
    case 'pattern':
      // A schema whose description reads as a noun phrase ("an ISO 8601 UTC timestamp ...") says it better than a regex.
      if (typeof parent.description === 'string' && /^(a|an) /.test(parent.description)) {
        return { path: at, message: `must be ${parent.description} ${got}` };
      }
      return error.keyword === 'format'
        ? { path: at, message: `must be a valid ${String(params['format'])} ${got}` }
        : { path: at, message: `must match the pattern ${String(params['pattern'])} ${got}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path: at, message: `must be ${String(params['comparison'])} ${String(params['limit'])} ${got}` };
    case 'minItems':
      return { path: at, message: `must have at least ${plural(Number(params['limit']), 'item')}` };
    case 'maxItems':
      return { path: at, message: `must have at most ${plural(Number(params['limit']), 'item')}` };
    case 'maxLength':
      return { path: at, message: `must have at most ${plural(Number(params['limit']), 'character')} ${got}` };
    case 'minProperties':
      return parent.properties
        ? { path: at, message: `must contain at least one of ${Object.keys(parent.properties).map((k) => JSON.stringify(k)).join(', ')}` }
        : { path: at, message: `must have at least ${plural(Number(params['limit']), 'key')}` };
    case 'discriminator': {
      const tagPath = `${at}/${escapePointerToken(String(params['tag']))}`;
      if (params['error'] === 'tag') {
        return params['tagValue'] === undefined
          ? { path: tagPath, message: 'is required' }
          : { path: tagPath, message: `must be a string (got ${describeValue(params['tagValue'])})` };
      }
      return { path: tagPath, message: `must be one of ${SERVER_EVENT_TYPES.join(', ')} (got ${describeValue(params['tagValue'])})` };
    }
    default:
      return { path: at, message: error.message ?? 'is invalid' };
  }
}

/** A diagnostic with the JSON Schema keyword that failed (and, for `type`, the expected type). */
export interface SchemaProblem extends Diagnostic {
  keyword: string;
  /** For keyword `type`: the type the schema asks for, e.g. `string`. */
  expectedType?: string;
}

/** The problems of `value`, deduplicated; empty when it is valid. */
function problemsOf(validate: ValidateFunction, value: unknown): SchemaProblem[] {
  if (validate(value)) return [];
  const seen = new Set<string>();
  const problems: SchemaProblem[] = [];
  for (const error of validate.errors ?? []) {
    const diagnostic = diagnosticOf(error);
    const key = `${diagnostic.path}\u0000${diagnostic.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const problem: SchemaProblem = { ...diagnostic, keyword: error.keyword };
    if (error.keyword === 'type') problem.expectedType = String((error.params as { type?: unknown }).type).split(',')[0];
    problems.push(problem);
  }
  if (problems.length === 0) problems.push({ path: '', message: 'is invalid', keyword: 'unknown' });
  return problems;
}

function resultOf(validate: ValidateFunction, value: unknown): ValidationResult {
  const problems = problemsOf(validate, value);
  if (problems.length === 0) return { ok: true };
  return { ok: false, errors: problems.map(({ path, message }) => ({ path, message })) };
}

// ---- Public validators ---------------------------------------------------------------------------

/** Checks one server → client envelope (stream-server-event.schema.json). */
export function validateServerEvent(value: unknown): ValidationResult {
  return resultOf(wire().serverEvent, value);
}

/** How thoroughly to check a client frame: every problem, or the first only (cost bounded whatever the input). */
export interface ClientFrameCheck {
  firstProblemOnly?: boolean;
}

/** Checks a parsed session config text frame (stream-client-config.schema.json). */
export function validateConfigFrame(value: unknown, { firstProblemOnly = false }: ClientFrameCheck = {}): ValidationResult {
  return resultOf(firstProblemOnly ? firstProblem.configFrame : wire().configFrame, value);
}

/** Checks a parsed `{"type":"session.close"}` text frame (stream-client-close.schema.json). */
export function validateCloseFrame(value: unknown, { firstProblemOnly = false }: ClientFrameCheck = {}): ValidationResult {
  return resultOf(firstProblemOnly ? firstProblem.closeFrame : wire().closeFrame, value);
}

/** True for the event types of this protocol version (the variants of stream-server-event.schema.json). */
export function isKnownEventType(type: unknown): boolean {
  return (SERVER_EVENT_TYPES as readonly unknown[]).includes(type);
}

/**
 * Checks an envelope the way a tolerant client reads it: a known type against its variant, an
 * unknown type only for the shared envelope shape (AnyEvent), since clients must ignore such types.
 */
export function validateAnyServerEvent(value: unknown): ValidationResult {
  const type = value !== null && typeof value === 'object' ? (value as { type?: unknown }).type : undefined;
  return isKnownEventType(type) ? validateServerEvent(value) : resultOf(wire().anyEvent, value);
}

/** Checks a v1 HTTP error body (http-error.schema.json). */
export function validateHttpError(value: unknown): ValidationResult {
  return resultOf(wire().httpError, value);
}

/** Checks a 422 body of the token exchange (http-validation-error.schema.json). */
export function validateHttpValidationError(value: unknown): ValidationResult {
  return resultOf(wire().httpValidationError, value);
}

/** Checks a token-exchange request body (auth-request.schema.json). */
export function validateAuthRequest(value: unknown): ValidationResult {
  return resultOf(wire().authRequest, value);
}

/** Like `validateAuthRequest`, keeping the failed keyword of each problem (for the 422 body's `type`). */
export function authRequestProblems(value: unknown): SchemaProblem[] {
  return problemsOf(wire().authRequest, value);
}

/** Checks a token-exchange 200 body (auth-response.schema.json). */
export function validateAuthResponse(value: unknown): ValidationResult {
  return resultOf(wire().authResponse, value);
}

/** Checks a 200 body of POST /v1/upload/analyze (upload-response.schema.json). */
export function validateUploadResponse(value: unknown): ValidationResult {
  return resultOf(wire().uploadResponse, value);
}

/** Checks a scenario against scenario.schema.json only; `scenarios/loader.ts` adds the semantic checks. */
export function validateScenarioObject(value: unknown): ValidationResult {
  return resultOf(scenarioValidator, value);
}

/**
 * Checks a body of the admin API against its definition in admin.schema.json (requests, when the
 * server reads them; answers, in tests).
 */
export function validateAdminBody(schema: AdminSchema, value: unknown): ValidationResult {
  return resultOf(wire()[`admin${schema}`], value);
}

/** Checks the first line of a recording (recording.schema.json, RecordingHeader). */
export function validateRecordingHeader(value: unknown): ValidationResult {
  return resultOf(wire().recordingHeader, value);
}

/** Checks one record line of a recording (recording.schema.json, RecordingRecord). */
export function validateRecordingRecord(value: unknown): ValidationResult {
  return resultOf(wire().recordingRecord, value);
}

/** One line per diagnostic: `<pointer>: <message>`, the value itself shown as `(root)`. */
export function formatDiagnostics(diagnostics: readonly Diagnostic[]): string {
  return diagnostics.map((d) => `${d.path === '' ? '(root)' : d.path}: ${d.message}`).join('\n');
}

/** Throws unless `value` is a valid server event; for tests and the server's strict mode. */
export function assertValidServerEvent(value: unknown): asserts value is ServerEvent {
  const result = validateServerEvent(value);
  if (!result.ok) {
    const type = value !== null && typeof value === 'object' && 'type' in value ? ` ${JSON.stringify(value.type)}` : '';
    throw new Error(`invalid server event${type}:\n${formatDiagnostics(result.errors)}`);
  }
}

/** Throws unless `value` has the shape every event shares (for deliberately unknown event types). */
export function assertValidEnvelopeShape(value: unknown): void {
  const result = resultOf(wire().anyEvent, value);
  if (!result.ok) throw new Error(`invalid event envelope:\n${formatDiagnostics(result.errors)}`);
}

// ---- Client text frames --------------------------------------------------------------------------

const EXPECTED_CONFIG_FRAME =
  'a session config frame is a bare JSON object with only optional "include" (array of strings) and ' +
  '"goal_dimensions" (array of strings or null), for example {"include":["conversation_quality_overall"]}';

/** `/include/0` → `"include"[0]`: how a config-frame field is named in ih6001 messages. */
function fieldName(pointer: string): string {
  const [first, ...rest] = pointer.split('/').slice(1).map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  return JSON.stringify(first ?? '') + rest.map((t) => (/^\d+$/.test(t) ? `[${t}]` : `.${t}`)).join('');
}

function kindOfNonObject(value: unknown): string {
  if (Array.isArray(value)) return 'a JSON array';
  if (value === null) return 'JSON null';
  return `a JSON ${typeof value} (${describeValue(value)})`;
}

/** Problems named in one ih6001 message; more are counted, not listed. */
const MAX_LISTED_PROBLEMS = 5;

/**
 * Text frames up to this length have every problem listed (a real config frame is a few hundred
 * characters); a longer one has its first, so no frame costs more than one problem to judge.
 */
const FULL_REPORT_MAX_CHARS = 2048;

function problemsOfObject(value: Record<string, unknown>, diagnostics: readonly Diagnostic[]): string {
  const listed = diagnostics.slice(0, MAX_LISTED_PROBLEMS).map((d) => {
    if (d.message.startsWith('unexpected key ')) {
      const key = d.path.split('/').slice(1).join('/').replace(/~1/g, '/').replace(/~0/g, '~');
      return `unexpected key ${describeKey(key)} (value ${describeValue(value[key])})`;
    }
    return `${describeFieldName(d.path)} ${d.message}`;
  });
  const more = diagnostics.length - listed.length;
  return `${listed.join(', ')}${more > 0 ? ` and ${plural(more, 'more problem')}` : ''}`;
}

/** `fieldName`, cut like a value: a frame's keys are the client's. */
function describeFieldName(pointer: string): string {
  const name = fieldName(pointer);
  return name.length > 80 ? `${name.slice(0, 77)}...` : name;
}

/**
 * Why a text frame is not a valid session config frame, as one sentence for an ih6001 error that
 * says what was wrong and what shape is expected; `null` when it is valid. The caller decides
 * beforehand whether the text is `{"type":"session.close"}` (see `parseClientTextFrame`).
 */
export function describeConfigFrameProblem(text: string): string | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    return `the text frame is not valid JSON (${reason.length > 160 ? `${reason.slice(0, 157)}...` : reason}); ${EXPECTED_CONFIG_FRAME}`;
  }
  return problemOfParsedConfig(value, text.length);
}

function problemOfParsedConfig(value: unknown, textLength: number): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return `the text frame is ${kindOfNonObject(value)}, not an object; ${EXPECTED_CONFIG_FRAME}`;
  }
  const result = validateConfigFrame(value, { firstProblemOnly: textLength > FULL_REPORT_MAX_CHARS });
  if (result.ok) return null;
  return `${problemsOfObject(value as Record<string, unknown>, result.errors)}; ${EXPECTED_CONFIG_FRAME}`;
}

/** What a client text frame on the stream is. */
export type ClientTextFrame =
  | { kind: 'config'; frame: SessionConfigFrame }
  | { kind: 'close' }
  | { kind: 'invalid'; problem: string };

/**
 * Classifies a client text frame (docs/protocol.md §3.2): `{"type":"session.close"}` is a close request;
 * any other object with `"type":"session.close"` is an invalid close frame; everything else must be
 * a session config frame. `problem` is the ih6001 message.
 */
export function parseClientTextFrame(text: string): ClientTextFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'invalid', problem: describeConfigFrameProblem(text) ?? 'invalid text frame' };
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && (value as { type?: unknown }).type === 'session.close') {
    const close = validateCloseFrame(value, { firstProblemOnly: text.length > FULL_REPORT_MAX_CHARS });
    if (close.ok) return { kind: 'close' };
    return {
      kind: 'invalid',
      problem: `${problemsOfObject(value as Record<string, unknown>, close.errors)}; a session close frame is exactly {"type":"session.close"}`,
    };
  }
  const problem = problemOfParsedConfig(value, text.length);
  return problem === null ? { kind: 'config', frame: value as SessionConfigFrame } : { kind: 'invalid', problem };
}

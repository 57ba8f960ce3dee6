import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ERROR_CODES } from '../server/errors.js';
import { SCHEMAS_DIR } from '../server/paths.js';
import type * as Wire from '../server/types/generated.js';
import { SERVER_EVENT_TYPES, formatDiagnostics, validateServerEvent } from '../server/validation.js';
import { GENERATED_TYPES_PATH, TYPED_SCHEMAS, generateTypes } from './generate-types.js';

type JsonObject = { [key: string]: unknown };

function readDocument(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
}

function atPointer(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as JsonObject)[key];
  }
  return node;
}

/** Every `$ref` string in a document, with the JSON pointer where it sits. */
function refsIn(node: unknown, at = ''): { at: string; ref: string }[] {
  if (node === null || typeof node !== 'object') return [];
  const out: { at: string; ref: string }[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string') out.push({ at, ref: value });
    else out.push(...refsIn(value, `${at}/${key}`));
  }
  return out;
}

/** Resolves a `$ref` found in `file` (relative file part, JSON pointer fragment); undefined when it dangles. */
function resolveRef(file: string, ref: string): unknown {
  const [target = '', pointer = ''] = ref.split('#');
  const path = target === '' ? file : resolve(SCHEMAS_DIR, target);
  if (!existsSync(path)) return undefined;
  return atPointer(readDocument(path), pointer);
}

// ---- Samples (shapes from docs/protocol.md §3.3 and real captures) ----------------------

const ENVELOPE = { timestamp: '2026-06-20T15:21:55.149561Z', correlation_id: '550e8400-e29b-41d4-a716-446655440000' };
const SCORES = { quality_index: 72, clarity: 67, authority: 68, energy: 80, rapport: 75, learning: 70 };
const READY_DATA = {
  session_idle_timeout_seconds: 300,
  session_max_duration_seconds: 3600,
  max_segment_duration_seconds: null,
  min_segment_size_bytes: 1,
  max_segment_size_bytes: 33554432,
  supported_session_config_options: { include: ['conversation_quality_overall', 'conversation_quality_timeline'], goal_dimensions: null },
};

const samples: Record<string, unknown> = {
  'session.ready': { type: 'session.ready', ...ENVELOPE, data: READY_DATA },
  'session.ready (docs, with min_segment_duration_seconds)': { type: 'session.ready', ...ENVELOPE, data: { ...READY_DATA, min_segment_duration_seconds: 3 } },
  'session.updated': { type: 'session.updated', ...ENVELOPE, data: { include: ['conversation_quality_overall'], goal_dimensions: null } },
  'session.updated (goal dimensions)': { type: 'session.updated', ...ENVELOPE, data: { include: [], goal_dimensions: ['rapport'] } },
  'signal.detected': {
    timestamp: '2026-05-18T13:28:33.680921Z',
    correlation_id: '6d5b5776-265d-430d-8b4f-e37dde26fa93',
    type: 'signal.detected',
    data: { signal_type: 'agreement', start: 56, probability: 'high', rationale: 'The listener smiles warmly and nods his head.' },
  },
  'signal.updated': { type: 'signal.updated', ...ENVELOPE, data: { signal_type: 'agreement', start: 3, probability: 'medium', rationale: 'Nods less.' } },
  'signal.ended': { type: 'signal.ended', ...ENVELOPE, data: { signal_type: 'agreement', end: 14 } },
  'engagement.updated': { type: 'engagement.updated', ...ENVELOPE, data: { state: 'engaged', start: 42 } },
  'conversation_quality.updated (both)': {
    type: 'conversation_quality.updated',
    ...ENVELOPE,
    data: { overall: SCORES, timeline: [{ start: 0, end: 10, values: SCORES }] },
  },
  'conversation_quality.updated (overall)': { type: 'conversation_quality.updated', ...ENVELOPE, data: { overall: SCORES } },
  'conversation_quality.updated (timeline)': { type: 'conversation_quality.updated', ...ENVELOPE, data: { timeline: [{ start: 9, end: 18, values: SCORES }] } },
  error: {
    type: 'error',
    ...ENVELOPE,
    data: { code: 'ih6002', message: 'WebSocket message too large.', link: 'https://docs.interhuman.ai/api-reference/error-handling#ih6002-message-too-large', segment: 2 },
  },
  'error (connection-wide)': {
    type: 'error',
    ...ENVELOPE,
    data: { code: 'ih6003', message: 'Idle.', link: 'https://docs.interhuman.ai/api-reference/error-handling#ih6003-idle-timeout', segment: null },
  },
  'session.closing': { type: 'session.closing', ...ENVELOPE, data: { max_drain_seconds: 30 } },
  'session.ended': { type: 'session.ended', ...ENVELOPE, data: { reason: 'client_shutdown' } },
  'coverage.dropped': { type: 'coverage.dropped', ...ENVELOPE, data: { ranges: [{ start: 24, end: 27 }] } },
};

/** Invalid envelopes with the pointer a diagnostic must name. */
function invalidSamples(): Record<string, [unknown, string]> {
  const detected = samples['signal.detected'] as JsonObject;
  return {
    'an extra envelope key': [{ ...detected, session_id: 'abc' }, '/session_id'],
    'an extra data key (end on signal.detected)': [{ ...detected, data: { ...(detected['data'] as JsonObject), end: 11 } }, '/data/end'],
    'the stale data.signals[] shape of the browser codealong': [
      { ...detected, data: { signals: [{ type: 'agreement', start: 3, end: 11, probability: 'high', rationale: 'Nodded.' }] } },
      '/data/signals',
    ],
    'a timestamp with 3 fractional digits': [{ ...detected, timestamp: '2026-05-18T13:28:33.680Z' }, '/timestamp'],
    'a timestamp with an offset instead of Z': [{ ...detected, timestamp: '2026-05-18T13:28:33.680921+00:00' }, '/timestamp'],
    'a correlation_id that is not a UUID': [{ ...detected, correlation_id: 'req-1' }, '/correlation_id'],
    'a missing correlation_id': [{ type: 'signal.ended', timestamp: ENVELOPE.timestamp, data: { signal_type: 'agreement', end: 1 } }, '/correlation_id'],
    'engagement.updated with end (browser codealong)': [{ type: 'engagement.updated', ...ENVELOPE, data: { state: 'engaged', start: 3, end: 11 } }, '/data/end'],
    'an unknown engagement state': [{ type: 'engagement.updated', ...ENVELOPE, data: { state: 'bored', start: 3 } }, '/data/state'],
    'a numeric probability (launch post)': [{ ...detected, data: { ...(detected['data'] as JsonObject), probability: 0.9 } }, '/data/probability'],
    'two timeline entries': [
      { type: 'conversation_quality.updated', ...ENVELOPE, data: { timeline: [{ start: 0, end: 9, values: SCORES }, { start: 9, end: 18, values: SCORES }] } },
      '/data/timeline',
    ],
    'a score of 101': [{ type: 'conversation_quality.updated', ...ENVELOPE, data: { overall: { ...SCORES, energy: 101 } } }, '/data/overall/energy'],
    'a missing score': [{ type: 'conversation_quality.updated', ...ENVELOPE, data: { overall: { ...SCORES, learning: undefined } } }, '/data/overall/learning'],
    'an unknown error code': [{ type: 'error', ...ENVELOPE, data: { code: 'ih0000', message: 'x', link: 'https://x.test/', segment: null } }, '/data/code'],
    'a segment of 0': [{ type: 'error', ...ENVELOPE, data: { code: 'ih6002', message: 'x', link: 'https://x.test/', segment: 0 } }, '/data/segment'],
    'an unknown type': [{ type: 'feedback.generated', ...ENVELOPE, data: {} }, '/type'],
    'an empty coverage.dropped': [{ type: 'coverage.dropped', ...ENVELOPE, data: { ranges: [] } }, '/data/ranges'],
  };
}

const serverEventSchema = readDocument(join(SCHEMAS_DIR, 'stream-server-event.schema.json')) as {
  oneOf: { $ref: string }[];
  $defs: Record<string, { title?: string; properties?: { type?: { const?: string } } }>;
};

describe('generated types', () => {
  it('server/types/generated.ts is up to date (run `npm run gen:types`)', async () => {
    expect(readFileSync(GENERATED_TYPES_PATH, 'utf8')).toBe(await generateTypes());
  });

  it('covers every schema file', () => {
    const schemaFiles = readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.schema.json')).sort();
    expect([...TYPED_SCHEMAS].sort()).toEqual(schemaFiles);
  });

  it('ServerEvent is a union discriminated on type', () => {
    expectTypeOf<Wire.ServerEvent['type']>().toEqualTypeOf<(typeof SERVER_EVENT_TYPES)[number]>();
    expectTypeOf<Extract<Wire.ServerEvent, { type: 'signal.ended' }>>().toEqualTypeOf<Wire.SignalEndedEvent>();
    expectTypeOf<Extract<Wire.ServerEvent, { type: 'session.ready' }>['data']>().toEqualTypeOf<Wire.SessionReadyData>();
    expectTypeOf<Wire.SessionConfigFrame>().toEqualTypeOf<{ include?: string[]; goal_dimensions?: string[] | null }>();
    // Narrowing by a switch on `type` is exhaustive: adding a variant without a case fails to compile.
    const summarize = (event: Wire.ServerEvent): string => {
      switch (event.type) {
        case 'session.ready':
          return String(event.data.max_segment_size_bytes);
        case 'session.updated':
          return event.data.include.join();
        case 'signal.detected':
        case 'signal.updated':
          return event.data.rationale;
        case 'signal.ended':
          return String(event.data.end);
        case 'engagement.updated':
          return event.data.state;
        case 'conversation_quality.updated':
          return String(event.data.overall?.quality_index ?? event.data.timeline?.[0].values.quality_index);
        case 'error':
          return event.data.code;
        case 'session.closing':
          return String(event.data.max_drain_seconds);
        case 'session.ended':
          return event.data.reason;
        case 'coverage.dropped':
          return String(event.data.ranges[0].start);
        default: {
          const unreachable: never = event;
          return unreachable;
        }
      }
    };
    expect(summarize(samples['session.ended'] as Wire.ServerEvent)).toBe('client_shutdown');
  });
});

describe('stream-server-event.schema.json', () => {
  it('has one titled $defs entry per event, each with a type const, listed in oneOf', () => {
    const variants = serverEventSchema.oneOf.map(({ $ref }) => serverEventSchema.$defs[$ref.replace('#/$defs/', '')]);
    expect(variants.map((v) => v?.properties?.type?.const)).toEqual([...SERVER_EVENT_TYPES]);
    expect(new Set(SERVER_EVENT_TYPES).size).toBe(SERVER_EVENT_TYPES.length);
    for (const v of variants) expect(v?.title).toMatch(/Event$/);
  });

  it('the error code enum equals the error table', () => {
    const common = readDocument(join(SCHEMAS_DIR, 'common.schema.json')) as { $defs: { ErrorCode: { enum: string[] } } };
    expect(common.$defs.ErrorCode.enum).toEqual(ERROR_CODES);
  });

  it.each(Object.keys(samples))('accepts the protocol sample: %s', (name) => {
    const result = validateServerEvent(samples[name]);
    expect(result.ok ? '' : formatDiagnostics(result.errors)).toBe('');
  });

  it.each(Object.entries(invalidSamples()))('rejects %s', (_name, [value, path]) => {
    const result = validateServerEvent(value);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((d) => d.path)).toContain(path);
  });
});

describe('asyncapi.yaml', () => {
  const path = join(SCHEMAS_DIR, 'asyncapi.yaml');
  const doc = readDocument(path) as JsonObject;

  it('parses as an AsyncAPI 3.0 document', () => {
    expect(doc['asyncapi']).toBe('3.0.0');
    expect(Object.keys(doc['servers'] as JsonObject)).toEqual(['local', 'live']);
    expect(atPointer(doc, '/channels/streamAnalyze/address')).toBe('/v1/stream/analyze');
  });

  it('every $ref resolves to an existing file and pointer', () => {
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(40);
    const dangling = refs.filter(({ ref }) => resolveRef(path, ref) === undefined);
    expect(dangling).toEqual([]);
  });

  it('has a message for every server event and client frame', () => {
    const payloadRefs = refsIn(doc).map(({ ref }) => ref);
    for (const def of serverEventSchema.oneOf.map(({ $ref }) => $ref.replace('#', ''))) {
      expect(payloadRefs).toContain(`./stream-server-event.schema.json#${def}`);
    }
    expect(payloadRefs).toContain('./stream-client-config.schema.json');
    expect(payloadRefs).toContain('./stream-client-close.schema.json');
    expect(atPointer(doc, '/components/messages/VideoSegment/contentType')).toBe('application/octet-stream');
  });

  it('documents the close codes', () => {
    const text = readFileSync(path, 'utf8');
    for (const code of ['1000', '4003', '4029', '4008', '4009']) expect(text).toContain(`**${code}**`);
  });
});

describe('all schema files', () => {
  it('every cross-file $ref resolves and every $id names its file', () => {
    for (const file of readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.schema.json'))) {
      const full = join(SCHEMAS_DIR, file);
      const schema = readDocument(full) as JsonObject;
      expect(schema['$id']).toBe(`https://ih-mock.dev/schemas/${file}`);
      expect(refsIn(schema).filter(({ ref }) => resolveRef(full, ref) === undefined)).toEqual([]);
    }
  });
});

/**
 * The serve flags, derived from the options schema (`schemas/server-options.schema.json`): one flag
 * per option, with the schema's type (so `--idle-close-code 4000` is a number, as the schema wants),
 * enum, ranges, default and description. A new option in the schema is a new flag, in `--help` too.
 */
import { OPTIONS_SCHEMA, type OptionSchema } from '../options-schema.js';
import { CommandUsageError } from './io.js';
import type { Flag, FlagType, NumberRange } from './options.js';

/** Flag names that differ from the kebab-case of their option key (the names users know). */
const FLAG_RENAMES: Record<string, string> = {
  idleTimeoutSeconds: 'idle-timeout',
  maxDurationSeconds: 'max-duration',
  apiKeys: 'api-key',
  keyPairs: 'key-pair',
};

/** Value placeholders where the type alone would not say enough. */
const VALUE_HINTS: Record<string, string> = {
  keyPairs: '<id:secret[:scopes]>',
  scenario: '<name|file|random>',
  host: '<host>',
  videoCodecs: '<codec,...>',
  corsOrigins: '<origin,...|*>',
};

/** Extra help text beyond the schema's description. */
const EXTRA_HELP: Record<string, string> = {
  keyPairs: 'Format keyId:keySecret[:scope,scope], e.g. key_1:s3cret:interhumanai.upload.',
};

/** List options whose flag also takes comma-separated values (`--video-codecs h264,vp8`); API keys may hold commas, so not every list. */
const COMMA_LISTS = new Set(['videoCodecs', 'corsOrigins']);

/** Nullable options whose null is written `off` on the command line (elsewhere it is `auto`). */
const OFF_MEANS_NULL = new Set(['rateLimitPerMinute', 'workerPoolSize', 'maxQueuedWindows']);

/** A serve flag: a `Flag` that knows which option it sets. */
export interface OptionFlag extends Flag {
  key: string;
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The JSON types a property allows, from `type`, the branches of `anyOf`, or the values of `enum`. */
function typesOf(prop: OptionSchema): string[] {
  if (prop.type !== undefined) return ([] as string[]).concat(prop.type);
  if (prop.anyOf) return [...new Set(prop.anyOf.flatMap(typesOf))];
  if (prop.enum) return [...new Set(prop.enum.map((v) => (v === null ? 'null' : typeof v)))];
  return ['string'];
}

function rangesOf(prop: OptionSchema): NumberRange[] {
  if (prop.anyOf) return prop.anyOf.flatMap(rangesOf);
  const range: NumberRange = {};
  if (prop.minimum !== undefined) range.min = prop.minimum;
  if (prop.exclusiveMinimum !== undefined) Object.assign(range, { min: prop.exclusiveMinimum, exclusiveMin: true });
  if (prop.maximum !== undefined) range.max = prop.maximum;
  return Object.keys(range).length > 0 ? [range] : [];
}

/** The schema speaks of null; the command line writes it as a word (`auto`, `off`). */
function cliWording(description: string, nullWord: string | undefined): string {
  if (nullWord === undefined) return description;
  return description.replace(/null \(on the command line: \w+\)/g, nullWord).replace(/\bnull =/g, `${nullWord} =`);
}

function shownDefault(value: unknown, nullWords: readonly string[]): string | undefined {
  if (value === undefined) return undefined;
  if (value === null) return nullWords[0] ?? 'none';
  if (Array.isArray(value)) return value.length > 0 ? value.join(',') : 'none';
  return String(value);
}

/** The flag of one option of the schema. */
export function optionFlag(key: string, overrides: Partial<Flag> = {}): OptionFlag {
  const prop = OPTIONS_SCHEMA.properties[key];
  if (!prop) throw new Error(`no option ${key} in the options schema`);
  const types = typesOf(prop);
  const base = types.find((t) => t !== 'null') ?? 'string';
  const nullWords = types.includes('null') ? [OFF_MEANS_NULL.has(key) ? 'off' : 'auto'] : [];
  const choices = prop.enum?.filter((v): v is string => typeof v === 'string');
  const ranges = rangesOf(prop);
  const type: FlagType = base === 'array' || base === 'object' ? 'string' : (base as FlagType);
  const flag: OptionFlag = {
    key,
    name: FLAG_RENAMES[key] ?? kebab(key),
    type,
    description: [cliWording(prop.description ?? '', nullWords[0]), EXTRA_HELP[key] ?? ''].filter(Boolean).join(' '),
    ...(VALUE_HINTS[key] ? { value: VALUE_HINTS[key] } : {}),
    ...(choices && choices.length > 0 ? { choices } : {}),
    ...(ranges.length > 0 ? { ranges } : {}),
    ...(nullWords.length > 0 ? { nullWords } : {}),
    ...(base === 'array' ? { repeatable: true } : {}),
    ...(type === 'boolean' ? { negatable: true } : {}),
    ...(key === 'keyPairs' ? { convert: parseKeyPair } : {}),
    ...(COMMA_LISTS.has(key) ? { convert: splitCommas } : {}),
    ...overrides,
  };
  const shown = shownDefault(prop.default, nullWords);
  if (shown !== undefined && overrides.default === undefined) flag.default = shown;
  return flag;
}

/** Every option of the schema as a flag, in the schema's order. */
export function optionFlags(): OptionFlag[] {
  return Object.keys(OPTIONS_SCHEMA.properties).map((key) => optionFlag(key));
}

/** Parsed flag values (by flag name) → options (by option key), only those given. */
export function optionsFromFlags(flags: readonly OptionFlag[], values: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const f of flags) {
    const value = values[f.name];
    if (value === undefined) continue;
    // A comma list flag converts each occurrence to an array: `--video-codecs h264,vp8 --video-codecs vp9` is one list.
    options[f.key] = COMMA_LISTS.has(f.key) && Array.isArray(value) ? value.flat() : value;
  }
  return options;
}

function splitCommas(raw: string): string[] {
  return raw.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

const SCOPES = ['interhumanai.upload', 'interhumanai.stream'];

/**
 * `--key-pair keyId:keySecret[:scope,scope]` → a `keyPairs` entry. The secret is never echoed in the
 * error (it would land in terminals and CI logs).
 */
export function parseKeyPair(raw: string): { keyId: string; keySecret: string; scopes?: string[] } {
  const parts = raw.split(':');
  const keyId = parts[0] ?? '';
  const shown = JSON.stringify(`${keyId}:***${parts.length > 2 ? `:${parts.slice(2).join(':')}` : ''}`);
  if (parts.length < 2 || parts.length > 3 || keyId === '' || parts[1] === '') {
    throw new CommandUsageError(`--key-pair expects keyId:keySecret[:scope,scope] (keyId and keySecret non-empty, no ":" inside them), got ${parts.length < 2 ? JSON.stringify(keyId) : shown}`);
  }
  if (parts.length === 2) return { keyId, keySecret: parts[1]! };
  const scopes = parts[2]!.split(',').map((s) => s.trim());
  const unknown = scopes.filter((s) => !SCOPES.includes(s));
  if (unknown.length > 0 || new Set(scopes).size !== scopes.length) {
    throw new CommandUsageError(`--key-pair scopes must be distinct values of ${SCOPES.join(', ')} separated by commas, got ${shown}`);
  }
  return { keyId, keySecret: parts[1]!, scopes };
}

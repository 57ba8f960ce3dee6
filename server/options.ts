/**
 * Server options: one schema (`schemas/server-options.schema.json`) with defaults and units. CLI
 * flags, a config file and the programmatic API all pass through `resolveOptions`, which validates
 * once at the edge and returns a frozen object.
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import type { ServerOptionsInput } from './types/generated.js';
import { options as optionsValidator } from './validators/options.js';
import { yaml } from './yaml.js';

export type { ServerOptionsInput };

/** Resolved, validated options: every field present, and a concrete seed. */
export type ServerOptions = Readonly<Required<Omit<ServerOptionsInput, 'seed'>> & { seed: number }>;

/** The options schema's validator, compiled at build (`schemas/generate-validators.ts`); it fills in the defaults. */
const validate = optionsValidator as ValidateFunction<Required<ServerOptionsInput>>;

/** A bad option, with a message fit for a one-line CLI error. */
export class OptionsError extends Error {
  override name = 'OptionsError';
}

/** Validate and fill defaults. Throws `OptionsError` naming the first bad option. */
export function resolveOptions(input: ServerOptionsInput = {}): ServerOptions {
  const copy = structuredClone(input) as Record<string, unknown>;
  for (const key of Object.keys(copy)) if (copy[key] === undefined) delete copy[key];
  if (!validate(copy)) {
    const problems = (validate.errors ?? []).map((e) => {
      const where = e.instancePath ? e.instancePath.slice(1) : '';
      if (e.keyword === 'additionalProperties') return `unknown option "${String(e.params['additionalProperty'])}"`;
      if (e.keyword === 'enum') return `option ${where || '(root)'} must be one of ${(e.params['allowedValues'] as unknown[]).map(String).join(', ')}`;
      return `option ${where || '(root)'} ${e.message ?? 'is invalid'}`;
    });
    throw new OptionsError(problems.join('; '));
  }
  const options = copy as Required<ServerOptionsInput>;
  // Rules that span two options, which the schema cannot express.
  if (options.windowHopSeconds > options.windowSeconds) {
    throw new OptionsError(`option windowHopSeconds (${options.windowHopSeconds}) must not exceed windowSeconds (${options.windowSeconds}): media between windows would never be analyzed`);
  }
  if (options.wsMaxPayloadBytes !== null && options.wsMaxPayloadBytes < options.maxSegmentBytes) {
    throw new OptionsError(`option wsMaxPayloadBytes (${options.wsMaxPayloadBytes}) must be at least maxSegmentBytes (${options.maxSegmentBytes}), so oversized segments get ih6002 rather than a bare close`);
  }
  if (options.videoCodecs.length === 0) {
    throw new OptionsError('option videoCodecs must name at least one codec (or "any"): with none, every video would be refused');
  }
  if (options.minUploadBytes > options.maxUploadBytes) {
    throw new OptionsError(`option minUploadBytes (${options.minUploadBytes}) must not exceed maxUploadBytes (${options.maxUploadBytes}): no upload could be accepted`);
  }
  // No seed given: draw one, and let the caller print it so the run can be replayed.
  const seed = options.seed ?? randomInt(0, 2 ** 32);
  return Object.freeze({ ...options, seed });
}

/** Read a config file (JSON or YAML) holding the same keys as the programmatic options. */
export function readConfigFile(path: string): ServerOptionsInput {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new OptionsError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = /\.json$/i.test(path) ? JSON.parse(text) : yaml().parse(text);
  } catch (err) {
    throw new OptionsError(`config file ${path} is not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new OptionsError(`config file ${path} must hold an object of options`);
  return value as ServerOptionsInput;
}

/**
 * The frame size the WebSocket layer accepts: above the segment limit (the server's, or a larger one
 * a scenario sets) so oversized segments get the ih6002 envelope rather than a bare close 1009.
 */
export function wsMaxPayload(options: ServerOptions, segmentLimit: number = options.maxSegmentBytes): number {
  const limit = Math.max(segmentLimit, options.maxSegmentBytes);
  if (options.wsMaxPayloadBytes !== null) return Math.max(options.wsMaxPayloadBytes, limit);
  return Math.max(2 * limit, limit + 8 * 1024 * 1024);
}

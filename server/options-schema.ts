/**
 * The options schema as data, without compiling it: the CLI reads flags, types, ranges, defaults and
 * descriptions from it (for `--help` too, which must not pay for Ajv); `options.ts` validates with it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMAS_DIR } from './paths.js';

/** One property of the schema, as far as the CLI reads it. */
export interface OptionSchema {
  type?: string | string[];
  enum?: (string | null)[];
  anyOf?: OptionSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  default?: unknown;
  description?: string;
  items?: unknown;
}

export const OPTIONS_SCHEMA: { properties: Record<string, OptionSchema> } = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'server-options.schema.json'), 'utf8'));

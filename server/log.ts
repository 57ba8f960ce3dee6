/**
 * The server's logger: pino JSON lines, with credentials removed from every line at every level.
 *
 * Why a scrubber rather than a list of paths: credentials reach log calls we do not write. At
 * `trace`, @fastify/multipart logs its whole options object, request headers included
 * (`busboyOptions.headers.authorization`); a fixed path list misses the next library that does the
 * same. So every logged object is walked, and a value is replaced wherever its key names a
 * credential (`authorization`, `cookie`, `sec-websocket-protocol`, `key_secret`, `access_token`, …,
 * compared without case, `-` or `_`), at any depth. Strings (the message included) have
 * `Bearer <credential>` masked wherever it appears; buffers are logged as their length only, since
 * raw request bytes (the HTTP parser's `rawPacket`) hold headers.
 *
 * Invariant: what ih-mock code logs about a credential is its source and an account label (a hash),
 * never the value; this module is the net under that rule.
 */
import { pino, stdSerializers, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

/** What a credential is replaced with (the recorder writes the same). */
const CENSOR = '[redacted]';

/** Keys whose values are credentials, normalised by `normaliseKey`. */
const CREDENTIAL_KEYS = new Set([
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'secwebsocketprotocol',
  'xapikey',
  'xihadmintoken',
  'admintoken',
  'apikey',
  'apikeys',
  'keysecret',
  'keypairs',
  'clientsecret',
  'secret',
  'password',
  'accesstoken',
  'refreshtoken',
  'token',
  'credential',
]);

/** Deeper than any object ih-mock or its libraries log; past it, values are dropped. */
const MAX_DEPTH = 12;

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

/** True when values under `key` are credentials. */
export function isCredentialKey(key: string): boolean {
  return CREDENTIAL_KEYS.has(normaliseKey(key));
}

const BEARER = /\b(Bearer)\s+[^\s"',;]+/gi;

/** `text` with every `Bearer <credential>` masked. */
export function scrubString(text: string): string {
  return text.includes('earer') || text.includes('EARER') ? text.replace(BEARER, `$1 ${CENSOR}`) : text;
}

/** A copy of `value` with every credential replaced (see the module header). Never mutates. */
export function scrub(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return '[too deep]';
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (value instanceof Error) return scrub(stdSerializers.err(value), depth + 1, seen);
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = isCredentialKey(key) && item !== undefined && item !== null ? CENSOR : scrub(item, depth + 1, seen);
  return out;
}

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Where lines go (default stderr). */
  destination?: DestinationStream;
}

/** The server's logger (see the module header). */
export function createLogger({ level, destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { service: 'ih-mock' },
      formatters: {
        log: (object) => scrub(object) as Record<string, unknown>,
        bindings: (bindings) => scrub(bindings) as Record<string, unknown>,
      },
      serializers: {
        // Serializers run after `formatters.log`: an Error logged under `err` is scrubbed here.
        err: (err: Error) => scrub(err),
        msg: (msg: unknown) => (typeof msg === 'string' ? scrubString(msg) : msg),
      },
    },
    destination ?? pino.destination(2),
  );
}

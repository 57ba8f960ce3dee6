/** The server → client envelope: `{type, timestamp, correlation_id, data}` (docs/protocol.md §3.1). */
import { isoMicros, type Clock } from '../clock.js';
import { ERROR_TABLE, errorLink, type ErrorCode } from '../errors.js';

export interface Envelope<T extends string = string, D = unknown> {
  type: T;
  timestamp: string;
  correlation_id: string;
  data: D;
}

export function envelope<T extends string, D>(type: T, data: D, correlationId: string, clock: Clock): Envelope<T, D> {
  return { type, timestamp: isoMicros(clock.now()), correlation_id: correlationId, data };
}

export interface ErrorData {
  code: ErrorCode;
  message: string;
  link: string;
  /** 1-based index of the binary message concerned, or null for connection-wide errors. */
  segment: number | null;
}

export function errorData(code: ErrorCode, segment: number | null, message?: string): ErrorData {
  return { code, message: message ?? ERROR_TABLE[code].message, link: errorLink(code), segment };
}

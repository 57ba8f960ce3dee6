/**
 * The server → client envelope (docs/protocol.md §3.1), serialized in the live key order
 * `timestamp, correlation_id, type, data`, as the captured live envelopes and the launch post's example
 * show: clients that log or diff raw frames see the same text as from the live service.
 */
import { isoMicros, type Clock } from '../clock.js';
import { ERROR_TABLE, errorLink, type ErrorCode } from '../errors.js';

export interface Envelope<T extends string = string, D = unknown> {
  timestamp: string;
  correlation_id: string;
  type: T;
  data: D;
}

export function envelope<T extends string, D>(type: T, data: D, correlationId: string, clock: Clock): Envelope<T, D> {
  // Property order is the JSON key order: keep it as live.
  return { timestamp: isoMicros(clock.now()), correlation_id: correlationId, type, data };
}

/** `data` of an `error` envelope, in the documented key order: code, message, link, segment. */
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

/**
 * Journal queries: from a URL's query string to a typed `JournalQuery`, and from a `JournalQuery` to
 * a checked filter with its cursor, limit and timeout. Both the HTTP routes and the programmatic API
 * go through `checkJournalQuery`, so a bad value gets the same error either way.
 *
 * URL form (docs/control-plane.md#filters): session, test_id, kind, direction, type, code,
 * signal_type, since, limit, timeout_ms; list-valued ones take comma-separated values or repeat.
 * An unknown parameter is refused, so a typo never silently widens a filter.
 */
import type { JournalKind } from '../types/generated.js';
import type { JournalQuery, WaitQuery } from './api.js';
import { AdminError } from './errors.js';
import type { JournalFilter } from './journal.js';

export const JOURNAL_KINDS: readonly JournalKind[] = ['frame', 'session', 'upload', 'auth', 'admin'];
export const DEFAULT_JOURNAL_LIMIT = 1000;
export const MAX_JOURNAL_LIMIT = 10_000;
export const DEFAULT_WAIT_MS = 30_000;
export const MAX_WAIT_MS = 300_000;

const FILTER_PARAMS = ['session', 'test_id', 'kind', 'direction', 'type', 'code', 'signal_type', 'since'] as const;

/** The query parameters of a journal route as a `WaitQuery & JournalQuery`; `extra` names the route's own (limit, timeout_ms). */
export function journalQueryFromParams(params: URLSearchParams, extra: readonly ('limit' | 'timeout_ms')[]): WaitQuery & JournalQuery {
  const known = [...FILTER_PARAMS, ...extra];
  for (const key of new Set(params.keys())) {
    if (!(known as readonly string[]).includes(key)) throw new AdminError('ihm4001', `unknown query parameter "${key}": this route takes ${known.join(', ')}`);
  }
  const list = (key: string) => {
    const values = params.getAll(key).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
    return values.length === 0 ? undefined : values;
  };
  const single = (key: string) => {
    const values = params.getAll(key);
    if (values.length > 1) throw new AdminError('ihm4001', `give ${key}= once, not ${values.length} times`);
    return values[0];
  };
  const query: WaitQuery & JournalQuery = {};
  const session = single('session');
  if (session !== undefined) query.session = session;
  const kind = list('kind');
  if (kind) query.kind = kind as JournalKind[];
  const direction = single('direction');
  if (direction !== undefined) query.direction = direction as 'in' | 'out';
  const type = list('type');
  if (type) query.type = type;
  const code = list('code');
  if (code) query.code = code;
  const signalType = list('signal_type');
  if (signalType) query.signalType = signalType;
  const since = single('since');
  if (since !== undefined) query.since = wholeNumber('since', since);
  const limit = single('limit');
  if (limit !== undefined) query.limit = wholeNumber('limit', limit);
  const timeout = single('timeout_ms');
  if (timeout !== undefined) query.timeoutMs = wholeNumber('timeout_ms', timeout);
  return query;
}

function wholeNumber(key: string, raw: string): number {
  if (!/^\d{1,15}$/.test(raw)) throw new AdminError('ihm4001', `${key}= must be a whole number, got ${JSON.stringify(raw.slice(0, 40))}`);
  return Number(raw);
}

export interface CheckedQuery {
  filter: JournalFilter;
  since: number;
  limit: number;
  timeoutMs: number;
}

/** Check a query's values; the scope (`testId`) is given separately, already checked. */
export function checkJournalQuery(query: WaitQuery & JournalQuery, testId: string | null): CheckedQuery {
  const filter: JournalFilter = {};
  if (testId !== null) filter.testId = testId;
  if (query.session !== undefined) filter.session = nonEmpty('session', query.session);
  if (query.kind !== undefined) {
    const kinds = asList(query.kind);
    const bad = kinds.filter((k) => !JOURNAL_KINDS.includes(k));
    if (bad.length > 0) throw new AdminError('ihm4001', `kind must be among ${JOURNAL_KINDS.join(', ')}, got ${bad.map((k) => JSON.stringify(k)).join(', ')}`);
    filter.kind = kinds;
  }
  if (query.direction !== undefined) {
    if (query.direction !== 'in' && query.direction !== 'out') throw new AdminError('ihm4001', `direction must be in (from the client) or out (from ih-mock), got ${JSON.stringify(query.direction)}`);
    filter.direction = query.direction;
  }
  if (query.type !== undefined) filter.type = asList(query.type);
  if (query.code !== undefined) filter.code = asList(query.code);
  if (query.signalType !== undefined) filter.signalType = asList(query.signalType);
  const since = query.since ?? 0;
  if (!Number.isSafeInteger(since) || since < 0) throw new AdminError('ihm4001', `since must be a whole number ≥ 0 (a seq from the journal), got ${since}`);
  const limit = 'limit' in query && query.limit !== undefined ? query.limit : DEFAULT_JOURNAL_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_JOURNAL_LIMIT) throw new AdminError('ihm4001', `limit must be from 1 to ${MAX_JOURNAL_LIMIT}, got ${limit}`);
  const timeoutMs = query.timeoutMs ?? DEFAULT_WAIT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_WAIT_MS) throw new AdminError('ihm4001', `timeout_ms must be from 0 to ${MAX_WAIT_MS}, got ${timeoutMs}`);
  return { filter, since, limit, timeoutMs };
}

function asList<T extends string>(value: T | readonly T[]): T[] {
  const list = (typeof value === 'string' ? [value] : [...value]) as T[];
  if (list.length === 0 || list.some((v) => typeof v !== 'string' || v === '')) throw new AdminError('ihm4001', 'a filter value must be a non-empty string (or a list of them)');
  return list;
}

function nonEmpty(key: string, value: string): string {
  if (typeof value !== 'string' || value === '') throw new AdminError('ihm4001', `${key} must be a non-empty string`);
  return value;
}

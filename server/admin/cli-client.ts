/**
 * `ih-mock sessions | session | journal | wait | inject | queue | defaults | reset`: a thin client of
 * a running ih-mock's admin API (docs/control-plane.md#the-cli), so scripts need no curl. Each prints
 * the route's JSON answer on stdout (`journal`: one entry per line) and returns the exit code:
 * 0 done, 1 the server refused (its error on stderr) or could not be reached, or a wait timed out,
 * 2 bad usage.
 *
 * Common options: --url (default http://127.0.0.1:4747, or $IH_MOCK_URL), --admin-token (or
 * $IH_ADMIN_TOKEN, which keeps it out of the process list), --test-id.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CommandUsageError, type CliIo } from '../cli/io.js';
import type { DefaultsRequest, Fault } from '../types/generated.js';
import type { JournalQuery, WaitQuery } from './api.js';
import { AdminHttpError, connectAdmin, type AdminClient } from './client.js';
import { AdminError } from './errors.js';

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:4747';

export const ADMIN_COMMANDS = ['sessions', 'session', 'journal', 'wait', 'inject', 'queue', 'defaults', 'reset'] as const;
export type AdminCommand = (typeof ADMIN_COMMANDS)[number];

export const ADMIN_COMMANDS_HELP = [
  'Admin commands (a running ih-mock; --url <base URL> [default http://127.0.0.1:4747], --admin-token <t> or $IH_ADMIN_TOKEN, --test-id <id>):',
  '  ih-mock sessions [--state open|ended|all]  List sessions (JSON).',
  '  ih-mock session <id>                       One session: counters, limits, dropped ranges, scenario.',
  '  ih-mock journal [filters] [--limit <n>] [--follow]',
  '                                             Journal entries, one JSON line each; --follow keeps printing new ones.',
  '  ih-mock wait [filters] [--timeout <ms>]    Wait for the first matching entry (exit 1 on timeout).',
  '      filters: --session <id> --kind <k> --direction in|out --type <t> --code <ih…> --signal-type <s> --since <seq>',
  "  ih-mock inject <session> '<fault JSON>'    Apply faults to a live session now, e.g. '{\"action\":\"error\",\"code\":\"ih3003\"}'",
  "  ih-mock queue sessions|uploads '<fault JSON>' [--count <n>]",
  '                                             Faults for the next n sessions (or uploads). JSON: one fault, a list, or @file.',
  '  ih-mock defaults [--scenario <name>] [--seed <n|none>] [--timing live|ratio|instant|none]',
  '                                             Show or change what new sessions run.',
  '  ih-mock reset                              Back to the start-up state (in --test-id\'s scope only, if given).',
].join('\n');

const COMMON: ParseArgsConfig['options'] = {
  url: { type: 'string' },
  'admin-token': { type: 'string' },
  'test-id': { type: 'string' },
};

const FILTERS: ParseArgsConfig['options'] = {
  session: { type: 'string' },
  kind: { type: 'string', multiple: true },
  direction: { type: 'string' },
  type: { type: 'string', multiple: true },
  code: { type: 'string', multiple: true },
  'signal-type': { type: 'string', multiple: true },
  since: { type: 'string' },
};

export class AdminUsageError extends CommandUsageError {
  override name = 'AdminUsageError';
}

/** Run one admin command; resolves with the exit code. `env` is where the defaults of --url and --admin-token come from. */
export async function runAdminCommand(command: AdminCommand, args: string[], io: CliIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    return await run(command, args, io, env);
  } catch (err) {
    if (err instanceof AdminError) {
      io.err(`ih-mock ${command}: ${err.code}: ${err.message}\n`);
      return 1;
    }
    if (err instanceof AdminHttpError) {
      io.err(`ih-mock ${command}: the server answered ${err.message}\n`);
      return 1;
    }
    if (err instanceof TypeError && /fetch failed/.test(err.message)) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      io.err(`ih-mock ${command}: cannot reach ih-mock (${cause?.code ?? cause?.message ?? err.message}); is it running? (--url)\n`);
      return 1;
    }
    throw err;
  }
}

async function run(command: AdminCommand, args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const print = (value: unknown) => io.out(`${JSON.stringify(value, null, 2)}\n`);
  switch (command) {
    case 'sessions': {
      const { values, client } = parse(command, args, { state: { type: 'string' } }, 0, env);
      const state = values['state'] as 'open' | 'ended' | 'all' | undefined;
      print(await client.sessions(state === undefined ? {} : { state }));
      return 0;
    }
    case 'session': {
      const { client, positionals } = parse(command, args, {}, 1, env);
      print(await client.session(positionals[0]!));
      return 0;
    }
    case 'journal': {
      const { values, client } = parse(command, args, { ...FILTERS, limit: { type: 'string' }, follow: { type: 'boolean' } }, 0, env);
      const query: JournalQuery = filtersOf(values);
      if (values['limit'] !== undefined) query.limit = wholeNumber('--limit', values['limit']);
      if (values['follow']) {
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        await client.follow(query, (entry) => io.out(`${JSON.stringify(entry)}\n`), stop.signal);
        return 0;
      }
      const page = await client.journal(query);
      for (const entry of page.entries) io.out(`${JSON.stringify(entry)}\n`);
      return 0;
    }
    case 'wait': {
      const { values, client } = parse(command, args, { ...FILTERS, timeout: { type: 'string' } }, 0, env);
      const query: WaitQuery = filtersOf(values);
      if (values['timeout'] !== undefined) query.timeoutMs = wholeNumber('--timeout', values['timeout']);
      print(await client.waitFor(query));
      return 0;
    }
    case 'inject': {
      const { client, positionals } = parse(command, args, {}, 2, env);
      print(await client.inject(positionals[0]!, faultsArgument(positionals[1]!)));
      return 0;
    }
    case 'queue': {
      const { values, client, positionals } = parse(command, args, { count: { type: 'string' } }, 2, env);
      const target = positionals[0];
      if (target !== 'sessions' && target !== 'uploads') throw new AdminUsageError(`"queue" takes sessions or uploads first, got ${JSON.stringify(target)}`);
      const count = values['count'] === undefined ? undefined : wholeNumber('--count', values['count']);
      print(await client.queueFaults({ target, faults: faultsArgument(positionals[1]!), ...(count === undefined ? {} : { count }) }));
      return 0;
    }
    case 'defaults': {
      const { values, client } = parse(command, args, { scenario: { type: 'string' }, seed: { type: 'string' }, timing: { type: 'string' } }, 0, env);
      const change: DefaultsRequest = {};
      if (values['scenario'] !== undefined) change.scenario = values['scenario'] === 'none' ? null : (values['scenario'] as string);
      if (values['seed'] !== undefined) change.seed = values['seed'] === 'none' ? null : wholeNumber('--seed', values['seed']);
      if (values['timing'] !== undefined) change.timing = values['timing'] === 'none' ? null : (values['timing'] as 'realistic' | 'instant');
      print(Object.keys(change).length === 0 ? await client.defaults() : await client.setDefaults(change));
      return 0;
    }
    case 'reset': {
      const { client } = parse(command, args, {}, 0, env);
      print(await client.reset());
      return 0;
    }
  }
}

function parse(
  command: AdminCommand,
  args: string[],
  options: ParseArgsConfig['options'],
  positionalCount: number,
  env: NodeJS.ProcessEnv,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[]; client: AdminClient } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new AdminUsageError(`${command}: ${((err as Error).message.split('\n')[0] ?? 'bad arguments').replace(/\. To specify.*$/, '')}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== positionalCount) {
    throw new AdminUsageError(`"${command}" takes ${positionalCount === 0 ? 'no arguments' : `${positionalCount} argument${positionalCount === 1 ? '' : 's'}`}, got ${positionals.length}`);
  }
  const url = (values['url'] as string | undefined) ?? env['IH_MOCK_URL'] ?? DEFAULT_ADMIN_URL;
  if (!/^https?:\/\/[^/]/.test(url)) throw new AdminUsageError(`--url must be an http:// base URL such as ${DEFAULT_ADMIN_URL}, got ${JSON.stringify(url)}`);
  const client = connectAdmin(url, {
    adminToken: (values['admin-token'] as string | undefined) ?? env['IH_ADMIN_TOKEN'] ?? null,
    testId: (values['test-id'] as string | undefined) ?? null,
  });
  return { values: values as Record<string, string | boolean | string[] | undefined>, positionals, client };
}

function filtersOf(values: Record<string, string | boolean | string[] | undefined>): JournalQuery {
  const query: JournalQuery = {};
  if (values['session'] !== undefined) query.session = values['session'] as string;
  if (values['kind'] !== undefined) query.kind = values['kind'] as JournalQuery['kind'] & string[];
  if (values['direction'] !== undefined) query.direction = values['direction'] as 'in' | 'out';
  if (values['type'] !== undefined) query.type = values['type'] as string[];
  if (values['code'] !== undefined) query.code = values['code'] as string[];
  if (values['signal-type'] !== undefined) query.signalType = values['signal-type'] as string[];
  if (values['since'] !== undefined) query.since = wholeNumber('--since', values['since']);
  return query;
}

function wholeNumber(flag: string, raw: unknown): number {
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) throw new AdminUsageError(`${flag} expects a whole number, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** A fault argument: JSON (one fault or a list), or @file holding it. */
function faultsArgument(raw: string): Fault | Fault[] {
  let text = raw;
  if (raw.startsWith('@')) {
    try {
      text = readFileSync(raw.slice(1), 'utf8');
    } catch (err) {
      throw new AdminUsageError(`cannot read ${raw.slice(1)}: ${(err as Error).message}`);
    }
  }
  try {
    return JSON.parse(text) as Fault | Fault[];
  } catch (err) {
    throw new AdminUsageError(`the faults must be JSON, e.g. '{"action":"disconnect"}' (${(err as Error).message.split('\n')[0]})`);
  }
}

/**
 * The admin client commands (`ih-mock sessions | session | journal | wait | inject | queue |
 * defaults | reset`): thin clients of a running ih-mock's admin API (docs/control-plane.md). The
 * flags are declared here, so `--help` and the checks are the CLI's; the work is
 * `server/admin/cli-client.ts`, which reads the same flags back.
 */
import type { AdminCommand } from '../admin/cli-client.js';
import type { Command, Flag, Positionals } from './options.js';

const COMMON: Flag[] = [
  { name: 'url', type: 'string', value: '<base URL>', default: 'http://127.0.0.1:4747', description: 'The running ih-mock (or $IH_MOCK_URL).' },
  { name: 'admin-token', type: 'string', value: '<token>', description: 'The admin token, when ih-mock listens beyond loopback (or $IH_ADMIN_TOKEN, which keeps it out of the process list).' },
  { name: 'test-id', type: 'string', value: '<id>', description: 'Act in this test scope only (X-IH-Test-Id).' },
];

const FILTERS: Flag[] = [
  { name: 'session', type: 'string', value: '<id>', description: 'Only this session (its correlation id).' },
  { name: 'kind', type: 'string', value: '<kind>', repeatable: true, choices: ['frame', 'session', 'upload', 'auth', 'admin'], description: 'Only entries of this kind.' },
  { name: 'direction', type: 'string', choices: ['in', 'out'], description: 'Only frames the client sent (in) or received (out).' },
  { name: 'type', type: 'string', value: '<type>', repeatable: true, description: 'Only this event or frame type, e.g. signal.detected.' },
  { name: 'code', type: 'string', value: '<ih code>', repeatable: true, description: 'Only this error code, e.g. ih3003.' },
  { name: 'signal-type', type: 'string', value: '<signal>', repeatable: true, description: 'Only events about this signal type, e.g. agreement.' },
  { name: 'since', type: 'string', value: '<seq>', description: 'Only entries after this sequence number (the cursor a previous answer gave).' },
];

interface AdminSpec {
  name: AdminCommand;
  summary: string;
  flags: Flag[];
  positionals?: Positionals;
}

const SPECS: AdminSpec[] = [
  { name: 'sessions', summary: 'A running ih-mock: list its sessions (JSON).', flags: [{ name: 'state', type: 'string', choices: ['open', 'ended', 'all'], default: 'all', description: 'Which sessions.' }] },
  { name: 'session', summary: 'A running ih-mock: one session, its counters, limits, dropped ranges and scenario.', flags: [], positionals: { name: '<id>', description: "the session's correlation id", min: 1, max: 1 } },
  { name: 'journal', summary: 'A running ih-mock: journal entries, one JSON line each.', flags: [...FILTERS, { name: 'limit', type: 'string', value: '<n>', description: 'At most this many entries.' }, { name: 'follow', type: 'boolean', description: 'Keep printing new entries as they come.' }] },
  { name: 'wait', summary: 'A running ih-mock: wait for the first matching journal entry (exit 1 on timeout).', flags: [...FILTERS, { name: 'timeout', type: 'string', value: '<ms>', description: 'Give up after this many milliseconds.' }] },
  { name: 'inject', summary: 'A running ih-mock: apply faults to a live session now.', flags: [], positionals: { name: "<session> '<fault JSON>'", description: 'the session, and one fault, a list, or @file, e.g. \'{"action":"error","code":"ih3003"}\'', min: 2, max: 2 } },
  { name: 'queue', summary: 'A running ih-mock: faults for the next sessions or uploads.', flags: [{ name: 'count', type: 'string', value: '<n>', description: 'How many sessions or uploads meet them.' }], positionals: { name: "sessions|uploads '<fault JSON>'", description: 'what the faults are for, and one fault, a list, or @file', min: 2, max: 2 } },
  { name: 'defaults', summary: 'A running ih-mock: show or change the scenario, seed and timing of new sessions.', flags: [{ name: 'scenario', type: 'string', value: '<name>', description: 'Scenario of new sessions.' }, { name: 'seed', type: 'string', value: '<n|none>', description: 'Seed of new sessions.' }, { name: 'timing', type: 'string', value: '<mode|none>', description: 'Timing of new sessions.' }] },
  { name: 'reset', summary: 'A running ih-mock: back to the start-up state (in --test-id\'s scope only, if given).', flags: [] },
];

/** The parsed flags back as arguments, for the client's own reading of them. */
function argumentsOf(values: Record<string, unknown>, positionals: readonly string[]): string[] {
  const args: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === false) continue;
    if (value === true) args.push(`--${name}`);
    else for (const one of Array.isArray(value) ? value : [value]) args.push(`--${name}`, String(one));
  }
  return [...args, ...positionals];
}

/** Every admin client command, as the CLI's table wants them. */
export const ADMIN_CLI_COMMANDS: Record<string, () => Promise<Command>> = Object.fromEntries(
  SPECS.map((spec) => [
    spec.name,
    async (): Promise<Command> => ({
      name: spec.name,
      summary: spec.summary,
      flags: [...spec.flags, ...COMMON],
      ...(spec.positionals ? { positionals: spec.positionals } : {}),
      async run({ values, positionals }, io) {
        const { runAdminCommand } = await import('../admin/cli-client.js');
        return runAdminCommand(spec.name, argumentsOf(values, positionals), io);
      },
    }),
  ]),
);

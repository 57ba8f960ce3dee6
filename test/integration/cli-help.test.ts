/**
 * The help and the usage errors of every `ih-mock` command, through the built bin as a process. The
 * expectations come from the same definitions the parser uses (`server/cli/*.ts`), so a flag added
 * to a command and missing from its help fails here.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TRANSPORTS } from '../../conformance/cases.js';
import { TRANSPORT_CHOICES } from '../../server/cli/conformance.js';
import { allCommands } from '../../server/cli/main.js';
import type { Command } from '../../server/cli/options.js';
import { PACKAGE_ROOT, SCHEMAS_DIR } from '../../server/paths.js';
import { bundledSources } from '../support/bundle.js';
import { BIN, runCli, useCliProcesses } from '../support/cli.js';
import { tempDir, useTempDirs } from '../support/temp.js';

useCliProcesses();
useTempDirs();

/** Every command and every subcommand. */
async function everyCommand(): Promise<Command[]> {
  const flatten = (c: Command): Command[] => [c, ...(c.subcommands ?? []).flatMap(flatten)];
  return (await allCommands()).flatMap(flatten);
}

/** The flags a command's help must list: its own, or for a command with subcommands, theirs. */
function flagNames(c: Command): string[] {
  return [...c.flags, ...(c.subcommands ?? []).flatMap((s) => s.flags)].map((f) => f.name);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Bounds, not waits: these tests start many processes at once, on a machine that may be shared. */
const CLI_TIMEOUT = { timeout: 120_000 };

describe('ih-mock --help', CLI_TIMEOUT, () => {
  it('every command and subcommand has its own help listing each of its flags; `ih-mock help <command>` prints the same', async () => {
    const commands = await everyCommand();
    expect(commands.map((c) => c.name)).toEqual(expect.arrayContaining(['serve', 'scenarios', 'scenarios generate', 'validate', 'record', 'replay', 'check', 'conformance']));
    const results = await Promise.all(commands.map((c) => Promise.all([runCli([...c.name.split(' '), '--help']), runCli(['help', ...c.name.split(' ')])])));
    for (const [i, c] of commands.entries()) {
      const [viaFlag, viaHelp] = results[i]!;
      expect(viaFlag.code, c.name).toBe(0);
      expect(viaFlag.stderr, c.name).toBe('');
      expect(viaFlag.stdout, c.name).toMatch(new RegExp(`^ih-mock ${escape(c.name)}: `));
      expect(viaFlag.stdout, c.name).toMatch(new RegExp(`^Usage: ih-mock ${escape(c.name)}\\b`, 'm'));
      for (const flag of flagNames(c)) expect(viaFlag.stdout, `${c.name} --${flag}`).toMatch(new RegExp(`^ {2}--${escape(flag)}\\b`, 'm'));
      expect(viaHelp, c.name).toEqual(viaFlag);
    }
    // A few rows as people read them.
    const help = (name: string) => results[commands.findIndex((c) => c.name === name)]![0].stdout;
    expect(help('serve')).toMatch(/^ {2}--port <n> +TCP port; 0 picks a free port\. \[default: 4747\]$/m);
    expect(help('serve')).toMatch(/^ {2}--idle-close-code <n> +WebSocket close code after ih6003\. .*\[default: 4008\]$/ms);
    expect(help('serve')).toMatch(/^ {2}--key-pair <id:secret\[:scopes\]> +Key pairs accepted by POST \/v1\/auth\./m);
    expect(help('conformance')).toMatch(/^ {2}--transport <stream\|upload\|both> +Which endpoints/m);
    expect(help('conformance')).toMatch(/^ {2}--ledger <file> +Expected deviations/m);
    expect(help('conformance')).toMatch(/^Usage: ih-mock conformance --client "<command>" \[options\]$/m);
    expect(help('record')).toMatch(/^ {2}--upstream <url> +The API to forward to: an http\(s\) or ws\(s\) URL/m);
    expect(help('replay')).toMatch(/^Usage: ih-mock replay <recording> \[options\]$/m);
    expect(help('scenarios')).toMatch(/^Options of scenarios generate:\n {2}--seed <n> +Seed of the generator\. Required\.$/m);
  });

  it('`ih-mock --help` (and `ih-mock help`) lists every command with its summary, the exit codes, and the options of serve', async () => {
    const commands = await allCommands();
    const [help, bare] = await Promise.all([runCli(['--help']), runCli(['help'])]);
    expect(help.code).toBe(0);
    expect(bare).toEqual(help);
    for (const c of commands) expect(help.stdout).toMatch(new RegExp(`^ {2}${c.name} +${escape(c.summary.split(' ').slice(0, 4).join(' '))}`, 'm'));
    expect(help.stdout).toMatch(/^ {2}help +Show the help of a command/m);
    expect(help.stdout).toMatch(/^Exit codes: 0 success; 1 [\s\S]*; 2 bad usage/m);
    for (const flag of commands.find((c) => c.name === 'serve')!.flags) expect(help.stdout).toMatch(new RegExp(`^ {2}--${escape(flag.name)}\\b`, 'm'));
    expect(help.stdout).toMatch(/^ {2}--version +Show the version and exit\.$/m);
  });

  it('--version and --help load no package and nothing of the server: a command loads what it needs when it runs', async () => {
    // A module-resolution hook records every module the process resolves.
    const dir = tempDir('ih-mock-trace-');
    writeFileSync(join(dir, 'hooks.mjs'), "import { appendFileSync } from 'node:fs';\nlet file;\nexport function initialize(data) { file = data.file; }\nexport async function resolve(specifier, context, next) {\n  const result = await next(specifier, context);\n  appendFileSync(file, `${result.url}\\n`);\n  return result;\n}\n");
    writeFileSync(join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url, { data: { file: process.env.IH_TRACE_FILE } });\n");
    const run = promisify(execFile);
    const traces = await Promise.all(
      [['--version'], ['--help']].map(async (args, i) => {
        const file = join(dir, `trace-${i}.txt`);
        writeFileSync(file, '');
        await run(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, BIN, ...args], { cwd: PACKAGE_ROOT, env: { ...process.env, IH_TRACE_FILE: file } });
        return readFileSync(file, 'utf8').trim().split('\n').filter((url) => url.startsWith('file:')).map((url) => fileURLToPath(url).slice(PACKAGE_ROOT.length + 1));
      }),
    );
    // bin/ih-mock.js runs the CLI bundle (server/cli/build-bundle.ts): esbuild's account of its
    // chunks says which source modules a loaded chunk holds.
    const sources = (files: string[]) => files.flatMap((file) => (file.startsWith('dist/bundle/') ? bundledSources(file) : [file]));
    const [version, help] = traces.map(sources);
    expect(version).toContain('server/cli/main.ts');
    expect(help).toContain('server/cli/conformance.ts'); // --help reads every command's definition
    for (const file of [...version!, ...help!]) expect(file).toMatch(/^(bin\/ih-mock\.js|server\/cli\/[a-z-]+\.ts|server\/(paths|options-schema)\.ts)$/);
    for (const file of [...version!, ...help!]) expect(file).not.toMatch(/-run\.ts$/);
  });

  it('the conformance --transport choices are the kit\'s transports and both', () => {
    expect([...TRANSPORT_CHOICES]).toEqual([...TRANSPORTS, 'both']);
  });
});

describe('usage errors: one line on stderr that says what is expected, exit 2', CLI_TIMEOUT, () => {
  it('misspelled flags, commands and values get a suggestion; bad values say what they should be', async () => {
    const timing = (JSON.parse(readFileSync(join(SCHEMAS_DIR, 'server-options.schema.json'), 'utf8')) as { properties: { timing: { enum: (string | null)[] } } }).properties.timing.enum.filter((v): v is string => v !== null);
    const cases: [string[], RegExp][] = [
      [['--sede', '1'], /^ih-mock: unknown flag --sede; did you mean --seed\? \(see ih-mock --help\)$/],
      [['sevre'], /^ih-mock: unknown command "sevre"; did you mean serve\?/],
      [['constructor'], /^ih-mock: unknown command "constructor"/],
      [['help', 'recrod'], /unknown command "recrod"; did you mean record\?/],
      [['conformance', '--client', 'true', '--sede', '4'], /unknown flag --sede; did you mean --seed\? \(see ih-mock conformance --help\)$/],
      [['conformance', '--client', 'true', '--transport', 'stram'], /--transport expects "stream", "upload" or "both", got "stram"; did you mean stream\?/],
      [['check', '--jsn', 'x.jsonl'], /unknown flag --jsn; did you mean --json\?/],
      [['replay', 'x.jsonl', '--pase', 'media'], /unknown flag --pase; did you mean --pace\?/],
      [['scenarios', 'shwo', 'steady'], /unknown scenarios command "shwo"; did you mean show\?/],
      [['scenarios', 'generate', '--sed', '1'], /unknown flag --sed; did you mean --seed\?/],
      [['--seed', '-1'], /--seed expects a non-negative integer up to 4294967295 or "auto", got "-1"/],
      [['conformance', '--client', 'true', '--seed', '-1'], /--seed expects a non-negative integer up to 4294967295, got "-1"/],
      [['--timing', 'fast'], new RegExp(`--timing expects ${timing.map((t) => `"${t}"`).join('.*')} or "auto", got "fast"`)],
      [['record', '--upstream', 'notaurl'], /--upstream expects an http\(s\) or ws\(s\) URL of the API, e.g\. https:\/\/api\.interhuman\.ai, got "notaurl"/],
      [['record', '--upstream', 'ftp://x'], /--upstream expects an http\(s\) or ws\(s\) URL/],
      [['record'], /"record" needs --upstream <url>/],
      [['record', '--upstream', 'http://x', '--log-level', 'loud'], /--log-level expects .*"silent", got "loud"/],
      [['conformance'], /conformance needs --client "<command>" .*or --clients FILE to compare several/],
      [['conformance', '--client', 'true', '--runs', '0'], /--runs expects a positive integer/],
      [['check'], /"check" needs <recording>\.\.\./],
      [['validate'], /"validate" needs <file>\.\.\./],
      [['replay'], /"replay" needs <recording>/],
      [['replay', 'a.jsonl', 'b.jsonl'], /"replay" takes at most 1 <recording>, got 2/],
      [['scenarios', 'list', 'extra'], /"scenarios list" takes no arguments, got "extra"/],
      [['--no-port'], /unknown flag --no-port/],
      [['--strict-events=yes'], /--strict-events takes no value/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    for (const [i, [args, message]] of cases.entries()) {
      const { code, stdout, stderr } = results[i]!;
      const what = args.join(' ');
      expect(code, what).toBe(2);
      expect(stdout, what).toBe('');
      expect(stderr.trim().split('\n'), what).toHaveLength(1);
      expect(stderr.trim(), what).toMatch(message);
    }
  });

  it('--help wins over anything wrong beside it', async () => {
    const [a, b] = await Promise.all([runCli(['record', '--nope', '--help']), runCli(['conformance', '--runs', 'x', '-h'])]);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^ih-mock record: /);
    expect(b.code).toBe(0);
    expect(b.stdout).toMatch(/^ih-mock conformance: /);
  });
});

describe('the README\'s table of serve flags', () => {
  it('lists every flag of `ih-mock serve` (the generated help) and no flag serve does not have', async () => {
    const serve = (await allCommands()).find((c) => c.name === 'serve')!;
    const readme = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('\n## The CLI');
    const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
    // The first cell of each table row names its flags: `--a <x>`, `--b` → a, b ("--no-x" is x).
    const inTable = new Set(
      section
        .split('\n')
        .filter((line) => line.startsWith('| `--'))
        .flatMap((line) => [...line.split(/(?<!\\)\|/)[1]!.matchAll(/`--(?:no-)?([a-z0-9-]+)/g)].map((m) => m[1]!)),
    );
    const own = serve.flags.map((f) => f.name).filter((n) => n !== 'version' && n !== 'help');
    expect(own.filter((n) => !inTable.has(n)), 'serve flags the README table does not document').toEqual([]);
    expect([...inTable].filter((n) => !own.includes(n)), 'flags in the README table that serve does not have').toEqual([]);
  });
});

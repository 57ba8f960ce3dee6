/**
 * Where `ih-mock serve`'s start-up goes, by module group: CPU milliseconds of each step, the median
 * over fresh processes (CPU time moves far less than wall time on a shared machine). Each process
 * loads the groups in the order serving loads them, so a group is charged only for what the ones
 * before it did not load, then builds the server and listens, as `ih-mock --port 0` does.
 *
 *   npm run build && npx tsx bench/startup-breakdown.ts [--runs=11]
 *
 * The first row is Node's own boot before any of it (the bare listener of the bench pays it too).
 * A diagnostic beside `--only=startup` (bench/README.md), not a bench figure: it has no baseline.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fmt, median } from './stats.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const runs = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice('--runs='.length) ?? 11);

/** Steps in load order: a label and the code that loads it (`dist` is the built package's folder URL). */
const STEPS: readonly [label: string, code: string][] = [
  ['CLI: main.js and the serve command', "await import(dist + 'server/cli/main.js'); await import(dist + 'server/cli/serve.js');"],
  ['Node built-ins (http, https, crypto, net, zlib, …)', "for (const m of ['http', 'https', 'crypto', 'net', 'zlib', 'stream', 'fs/promises', 'events', 'diagnostics_channel', 'dns']) await import('node:' + m);"],
  ['fastify (find-my-way, avvio, semver, …)', "requireCjs('fastify');"],
  ['ws', "requireCjs('ws');"],
  ['pino', "requireCjs('pino');"],
  ['@fastify/multipart (busboy)', "requireCjs('@fastify/multipart');"],
  ['validators (Ajv standalone code, server/validators/)', "for (const v of ['wire', 'options', 'client-frames-first-problem']) await import(dist + `server/validators/${v}.js`);"],
  ["the emulator's own modules (server/, scenarios/)", "app = await import(dist + 'server/app.js'); await import(dist + 'server/options.js'); await import(dist + 'scenarios/loader.js');"],
  ['buildServer (options, built-in scenarios, routes)', "server = app.buildServer({ port: 0, host: '127.0.0.1', logLevel: 'silent' });"],
  ['listen (fastify ready: plugins, router; bind)', 'await server.listen();'],
];

const CHILD = `
const boot = process.cpuUsage();
const dist = ${JSON.stringify(new URL('../dist/', import.meta.url).href)};
const { requireCjs } = await import(dist + 'server/require-cjs.js');
let app, server;
const ms = [(boot.user + boot.system) / 1000];
let last = process.cpuUsage();
const step = () => { const d = process.cpuUsage(last); ms.push((d.user + d.system) / 1000); last = process.cpuUsage(); };
${STEPS.map(([, code]) => `${code} step();`).join('\n')}
process.stdout.write(JSON.stringify(ms));
await server.close();
`;

const samples: number[][] = [];
for (let i = 0; i < runs; i++) samples.push(JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', CHILD], { cwd: REPO, encoding: 'utf8' })) as number[]);

const labels = ["Node's own boot (before any of ih-mock)", ...STEPS.map(([label]) => label)];
const medians = labels.map((_, i) => median(samples.map((s) => s[i]!)));
const total = medians.slice(1).reduce((a, b) => a + b, 0);
console.log(`CPU ms per step, median of ${runs} fresh processes (load average ${(await import('node:os')).loadavg().map((l) => fmt(l, 2)).join(' ')})\n`);
labels.forEach((label, i) => console.log(`${fmt(medians[i]!, 0).padStart(6)}  ${i === 0 ? '' : `${fmt((100 * medians[i]!) / total, 0).padStart(3)} %  `}${label}`));
console.log(`${fmt(total, 0).padStart(6)}  100 %  ih-mock's share (every step after the boot)`);

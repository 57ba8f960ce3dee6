/**
 * Where `ih-mock serve`'s start-up goes, by module group: CPU milliseconds of each step, the median
 * over fresh processes (CPU time moves far less than wall time on a shared machine). Each process
 * loads the groups from the unbundled build (`dist/server/`) in the order serving loads them, so a
 * group is charged only for what the ones before it did not load, then builds the server and
 * listens, as `ih-mock --port 0` does.
 *
 * Then the whole start-up, to the readiness line, as CPU ms: the bare `http` listener of the bench,
 * the CLI unbundled (`dist/server/cli/main.js`) and as `bin/ih-mock.js` runs it, bundled
 * (`dist/bundle/`, see server/cli/build-bundle.ts), interleaved.
 *
 *   npm run build && npx tsx bench/startup-breakdown.ts [--runs=11]
 *
 * The first row is Node's own boot before any of it (the bare listener of the bench pays it too).
 * A diagnostic beside `--only=startup` (bench/README.md), not a bench figure.
 */
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BARE_HTTP } from './startup.js';
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
  ['validators (Ajv standalone code, server/validators/; wire.cjs comes after the line)', "for (const v of ['scenario', 'options', 'client-frames-first-problem', 'event-types']) await import(dist + `server/validators/${v}.js`);"],
  ["the emulator's own modules (server/, scenarios/)", "app = await import(dist + 'server/app.js'); await import(dist + 'server/options.js'); await import(dist + 'scenarios/loader.js'); await import(dist + 'server/cli/serve-run.js');"],
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

/** Reports `process.cpuUsage()` on stderr when the process writes its readiness line (loaded with `--import`). */
const CPU_AT_READINESS = `data:text/javascript,${encodeURIComponent(
  "const write = process.stdout.write.bind(process.stdout); let told = false; process.stdout.write = (chunk, ...rest) => { if (!told && /ready at /.test(String(chunk))) { told = true; const u = process.cpuUsage(); process.stderr.write('cpu-at-readiness ' + (u.user + u.system) / 1000 + '\\n'); } return write(chunk, ...rest); };",
)}`;

const WHOLE: readonly [label: string, args: string[]][] = [
  ['bare `http` listener (the bench\'s baseline)', BARE_HTTP],
  ['CLI unbundled (dist/server/cli/main.js)', ['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(new URL('../dist/server/cli/main.js', import.meta.url).href)}); process.exitCode = await main(['--port', '0', '--log-level', 'silent']);`]],
  ['CLI bundled (bin/ih-mock.js, as `npx ih-mock` runs)', ['bin/ih-mock.js', '--port', '0', '--log-level', 'silent']],
];

/** CPU ms of `node <args>` from its start to its readiness line; the process is stopped then. */
function cpuAtReadiness(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', CPU_AT_READINESS, ...args], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      err += text;
      const found = /^cpu-at-readiness (\S+)$/m.exec(err);
      if (found) {
        child.kill('SIGKILL');
        resolve(Number(found[1]));
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`exited (${code}) before its readiness line: ${err.trim()}`)));
  });
}

const whole = WHOLE.map(() => [] as number[]);
for (let i = 0; i < runs; i++) for (let j = 0; j < WHOLE.length; j++) whole[(i + j) % WHOLE.length]!.push(await cpuAtReadiness(WHOLE[(i + j) % WHOLE.length]![1]));
console.log(`\nCPU ms to the readiness line, median of ${runs} (interleaved; ratio to the bare listener of the same round, median)\n`);
WHOLE.forEach(([label], i) => console.log(`${fmt(median(whole[i]!), 0).padStart(6)}  ${fmt(median(whole[i]!.map((v, r) => v / whole[0]![r]!)), 2)}×  ${label}`));

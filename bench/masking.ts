/**
 * How fast `ws` unmasks what a client sends, with its native helper (the optional dependency
 * `bufferutil`) and without it (`WS_NO_BUFFER_UTIL=1`: ws's JavaScript loop), each in a fresh
 * process. Every browser and every ws client masks its frames with a random key, so the server
 * unmasks every byte it receives; the bench's own clients send a zero key, which ws does not unmask
 * at all, so no other figure of the bench includes this cost.
 *
 *   npx tsx bench/masking.ts
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const WORKER = `
const { unmask } = require(${JSON.stringify(createRequire(import.meta.url).resolve('ws').replace(/index\.js$/, 'lib/buffer-util.js'))});
const buf = require('node:crypto').randomBytes(276611); // one 10-s segment of the bench
const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
for (let i = 0; i < 50; i++) unmask(buf, mask); // warm-up
const t0 = process.hrtime.bigint();
let n = 0;
while (process.hrtime.bigint() - t0 < 500_000_000n) { unmask(buf, mask); n++; }
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ mbPerSecond: (n * buf.length) / 1e6 / seconds, microsPerSegment: (seconds / n) * 1e6 }));
`;

function measure(env: NodeJS.ProcessEnv): { mbPerSecond: number; microsPerSegment: number } {
  return JSON.parse(execFileSync(process.execPath, ['-e', WORKER], { env: { ...process.env, ...env }, encoding: 'utf8' })) as { mbPerSecond: number; microsPerSegment: number };
}

const native = measure({});
const js = measure({ WS_NO_BUFFER_UTIL: '1' });
console.log('| ws unmasking a 276-KB message | MB/s | µs a message |');
console.log('|---|---:|---:|');
console.log(`| with bufferutil (native) | ${native.mbPerSecond.toFixed(0)} | ${native.microsPerSegment.toFixed(1)} |`);
console.log(`| without (WS_NO_BUFFER_UTIL=1, JavaScript) | ${js.mbPerSecond.toFixed(0)} | ${js.microsPerSegment.toFixed(1)} |`);
console.log(`| native speed-up | ${(native.mbPerSecond / js.mbPerSecond).toFixed(1)}× | |`);

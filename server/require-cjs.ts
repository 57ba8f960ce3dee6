/**
 * `require` for the CommonJS packages the server loads at start-up (fastify, ws, pino,
 * @fastify/multipart). An ESM `import` of a CommonJS package makes Node scan its source, and every
 * file it re-exports, with cjs-module-lexer to find named exports before running it; for these
 * packages that scan was about 40 % of their load time, and a fifth of the time to the readiness
 * line (bench/README.md, start-up). `require` runs the same package without it. Types still come
 * from `import type`, so the compiler checks every use as before.
 */
import { createRequire } from 'node:module';

export const requireCjs = createRequire(import.meta.url);

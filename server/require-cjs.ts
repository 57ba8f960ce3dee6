/**
 * `require` for the CommonJS packages the server loads at start-up (fastify, ws, pino,
 * @fastify/multipart). An ESM `import` of a CommonJS package makes Node scan its source, and every
 * file it re-exports, with cjs-module-lexer to find named exports before running it; for fastify,
 * ws and pino that scan was about 40 % of their load time (measured: ~300 ms of CPU by `import`,
 * ~180 ms by `require`, on a loaded 2-core machine). `require` runs the same package, the same
 * instance an `import` elsewhere gets, without it. Types still come from `import type`, so the
 * compiler checks every use as before.
 */
import { createRequire } from 'node:module';

export const requireCjs = createRequire(import.meta.url);

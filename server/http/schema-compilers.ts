/**
 * Fastify's schema compilers, loaded only if a route ever declares a fastify schema. None does (the
 * bodies are checked by our own, precompiled validators: `validation.ts`), yet fastify requires its
 * Ajv and fast-json-stringify compilers when an instance is created, which loaded Ajv's compiler and
 * some 200 files on every start-up. These factories are fastify's own defaults, required on first use.
 */
import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type Factory = (...args: unknown[]) => unknown;

/** Requires from fastify's own folder: the compilers are its dependencies, not ours. */
const fastifyRequire = createRequire(createRequire(import.meta.url).resolve('fastify'));

/** The factory `module` exports (by calling it, as fastify does), required on the first call. */
function requiredOnFirstUse(module: string): Factory {
  let factory: Factory | undefined;
  return (...args) => {
    factory ??= (fastifyRequire(module) as () => Factory)();
    return factory(...args);
  };
}

export const LAZY_SCHEMA_COMPILERS = {
  buildValidator: requiredOnFirstUse('@fastify/ajv-compiler'),
  buildSerializer: requiredOnFirstUse('@fastify/fast-json-stringify-compiler'),
} as CompilersFactory;

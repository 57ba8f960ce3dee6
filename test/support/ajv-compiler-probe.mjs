// Loaded with `node --import` (or NODE_OPTIONS): when the process exits, prints which modules of
// Ajv's schema compiler it loaded, as `ajv-compiler-probe: [...]` on stderr (`[]`: none). Ajv's
// small run-time helpers (`ajv/dist/runtime/`, which precompiled validators use) do not count.
// Ajv is CommonJS, so whatever loaded it (import or require) left it in the require cache.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const COMPILER = /[\\/]node_modules[\\/]ajv[\\/]dist[\\/](?!runtime[\\/])/;

process.on('exit', () => {
  const loaded = Object.keys(require.cache)
    .filter((path) => COMPILER.test(path))
    .map((path) => path.slice(path.lastIndexOf('node_modules')));
  process.stderr.write(`ajv-compiler-probe: ${JSON.stringify(loaded)}\n`);
});

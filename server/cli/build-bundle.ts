/**
 * Bundles the `ih-mock` command line into `dist/bundle/` with esbuild; `npm run build` runs it after
 * `tsc`, and `bin/ih-mock.js` runs the bundle. Why: a start-up spent most of its time not running
 * ih-mock but having Node find, read and compile some 280 small files (fastify alone is ~120 CommonJS
 * files, semver ~40); a few large files do the same work in a fraction of the time (bench/README.md,
 * "Start-up", has the figures). The library exports (`ih-mock`, `ih-mock/conformance`,
 * `ih-mock/vitest`) stay the plain `tsc` output in `dist/server/` and `dist/conformance/`.
 *
 * - ES modules with code splitting: each command is its own chunk, loaded by main's `import()` when it
 *   runs, so `--version` and `--help` still load no server.
 * - Bundled: our modules and the packages the server loads at start (fastify, ws, pino,
 *   @fastify/multipart, Ajv's run-time helpers). `requireCjs('pkg')` (see `server/require-cjs.ts`)
 *   becomes a plain `require('pkg')`, which esbuild inlines; the precompiled validators' own
 *   `createRequire` goes, so their `require`s of Ajv's helpers are inlined too.
 * - `requireCjs('./file.cjs')`, a file of ours loaded on first use (the wire validators, see
 *   `server/validation.ts`), stays a file: it is copied beside the bundle, where the same relative
 *   path finds it (`requireCjs` resolves from `server/`, and in the bundle from `dist/bundle/`).
 * - Left to Node at run time (external): built-ins; what is loaded after the readiness line or never
 *   on the CLI's paths, so it costs no parsing at start (pino-pretty, prom-client, yaml, which
 *   `server/yaml.ts` requires by path); and fastify's schema compilers and `inject` helper, which
 *   ih-mock never calls (`server/http/schema-compilers.ts`). A `require` made with `createRequire`
 *   in the chunk holding esbuild's `__require` lets the bundled CommonJS code require those and the
 *   built-ins (`writeWithRequire`).
 * - Whitespace and syntax are minified (less to read and parse at start), names are not; each chunk
 *   has a source map: `node --enable-source-maps bin/ih-mock.js` gives stack traces in the sources.
 * - Paths: `server/paths.ts` finds the package root by walking up from its module's URL, which from a
 *   chunk in `dist/bundle/` finds the same root (schemas/, scenarios/, server/ui/).
 *
 * Run: `npx tsx server/cli/build-bundle.ts` (after `npm run gen:build`, which writes the validators).
 */
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { build, type OutputFile, type Plugin } from 'esbuild';
import { PACKAGE_ROOT } from '../paths.js';

export const BUNDLE_DIR = join(PACKAGE_ROOT, 'dist', 'bundle');
/** esbuild's account of the bundle (the sources of each output), for the tests (`test/support/bundle.ts`). */
export const BUNDLE_METAFILE = join(BUNDLE_DIR, 'meta.json');

const EXTERNAL = [
  // Loaded after the readiness line, or only when asked for: parsed only then.
  'pino-pretty',
  'prom-client',
  'yaml',
  // fastify requires these only when a route has a fastify schema (none has: schema-compilers.ts)
  // or when `inject` is called (the CLI never does). Bundled, they would be Ajv's whole compiler.
  '@fastify/ajv-compiler',
  '@fastify/fast-json-stringify-compiler',
  'light-my-request',
  // ws's native masking (an optional dependency): it finds its prebuilt binary beside its own
  // files, so it must be required from node_modules (bundled, it fell back to JavaScript).
  'bufferutil',
];

/** `requireCjs('pkg')`, a package by its literal name: inlined. */
const REQUIRE_PACKAGE = /\brequireCjs\((['"][^'"./][^'"]*['"])\)/g;
/** `requireCjs('./file.cjs')`, a file of ours by its literal path (relative to `server/`): copied beside the bundle. */
const REQUIRE_FILE = /\brequireCjs\((['"])(\.\/[^'"]+)\1\)/g;
/** The line by which a precompiled validator makes its own `require` (schemas/generate-validators.ts). */
const VALIDATOR_REQUIRE = /^const require = createRequire\(import\.meta\.url\);$/m;

/**
 * Makes the `require`s of our own modules visible to esbuild, so what they require is bundled, and
 * collects the files of ours they require by path (into `besideBundle`, relative to `server/`).
 */
function inlineRequires(besideBundle: Set<string>): Plugin {
  return {
    name: 'ih-mock-inline-requires',
    setup(builder) {
      builder.onLoad({ filter: /\.[jt]s$/ }, async ({ path }) => {
        if (path.includes('node_modules')) return undefined;
        const source = await readFile(path, 'utf8');
        let contents = source.replace(REQUIRE_PACKAGE, 'require($1)');
        for (const [, , file] of contents.matchAll(REQUIRE_FILE)) besideBundle.add(file!);
        if (path.includes(join('server', 'validators'))) contents = contents.replace(VALIDATOR_REQUIRE, '');
        if (/\brequireCjs\((?!['"])/.test(contents)) throw new Error(`${relative(PACKAGE_ROOT, path)}: requireCjs must be called with a literal name or path (the bundle inlines a package, copies a file)`);
        return contents === source ? undefined : { contents, loader: path.endsWith('.ts') ? 'ts' : 'js' };
      });
    },
  };
}

/**
 * Built-ins that fastify and ws require as they load but use only for what `ih-mock serve` never
 * does: HTTPS and HTTP/2 (fastify's server factory), TLS and HTTPS (ws's client, to a wss:// URL),
 * permessage-deflate (zlib; ih-mock turns it off). Loading them cost ~10 ms of CPU per start-up
 * (measured in one process: http2 + https ~5 ms, zlib ~6 ms). Those two packages get, instead, a
 * stand-in that requires the built-in at the first use of any of its properties, so whatever uses
 * them (`ih-mock record` to a wss:// upstream) still gets the real module.
 */
const LAZY_BUILTINS: Record<string, RegExp> = {
  https: /[\\/]node_modules[\\/](fastify|ws)[\\/]/,
  http2: /[\\/]node_modules[\\/]fastify[\\/]/,
  tls: /[\\/]node_modules[\\/]ws[\\/]/,
  zlib: /[\\/]node_modules[\\/]ws[\\/]/,
};

const lazyBuiltins: Plugin = {
  name: 'ih-mock-lazy-builtins',
  setup(builder) {
    builder.onResolve({ filter: /^(node:)?(https|http2|tls|zlib)$/ }, ({ path, importer }) => {
      const name = path.replace(/^node:/, '');
      return LAZY_BUILTINS[name]!.test(importer) ? { path: name, namespace: 'ih-mock-lazy-builtin' } : undefined;
    });
    builder.onLoad({ filter: /.*/, namespace: 'ih-mock-lazy-builtin' }, ({ path }) => ({
      contents: `let loaded; const real = () => (loaded ??= require('node:${path}'));
module.exports = new Proxy({}, {
  get: (_, key) => real()[key],
  has: (_, key) => key in real(),
  ownKeys: () => Reflect.ownKeys(real()),
  getOwnPropertyDescriptor: (_, key) => { const d = Reflect.getOwnPropertyDescriptor(real(), key); return d && { ...d, configurable: true }; },
});`,
      loader: 'js',
    }));
  },
};

/**
 * A module-scoped `require` for an ES module chunk (what esbuild's `__require` calls for externals
 * and built-ins), made at its first call: importing node:module up front loads it and its source-map
 * support even for `--help`, which requires nothing. (`require.cache` and `require.main`, which
 * fastify and thread-stream read, are undefined as they would be, for this bundle, from
 * `createRequire`: its modules are not in Node's cache and the main module is an ES module.)
 */
const REQUIRE_LINE =
  "let __ihMockRequire; function require(id) { return (__ihMockRequire ??= process.getBuiltinModule('node:module').createRequire(import.meta.url))(id); }";
/** A `require` not part of another name: esbuild's `__require` helper, which the bundled CommonJS code calls. */
const FREE_REQUIRE = /(?<![\w$.])require\b/;

/**
 * Writes the chunks, giving `require` (REQUIRE_LINE) only to those that name it: in practice the one
 * holding esbuild's `__require`. As a banner on every chunk, made at load, it cost ~0.35 ms of CPU per
 * chunk loaded (importing node:module, `import.meta`, `createRequire`): 16 chunks for `--help`, 18 to
 * serve.
 * The line goes on top, so the chunk's source map gets an empty first line.
 */
async function writeWithRequire(files: OutputFile[]): Promise<void> {
  await mkdir(BUNDLE_DIR, { recursive: true });
  const maps = new Map(files.filter((f) => f.path.endsWith('.map')).map((f) => [f.path, f.text]));
  for (const file of files) {
    if (file.path.endsWith('.map')) continue;
    let text = file.text;
    let map = maps.get(`${file.path}.map`);
    if (FREE_REQUIRE.test(text)) {
      text = `${REQUIRE_LINE}\n${text}`;
      if (map !== undefined) {
        const parsed = JSON.parse(map) as { mappings: string };
        map = JSON.stringify({ ...parsed, mappings: `;${parsed.mappings}` });
      }
    }
    await writeFile(file.path, text);
    if (map !== undefined) await writeFile(`${file.path}.map`, map);
  }
}

export async function buildCliBundle(): Promise<void> {
  await rm(BUNDLE_DIR, { recursive: true, force: true });
  const besideBundle = new Set<string>();
  const result = await build({
    absWorkingDir: PACKAGE_ROOT,
    entryPoints: { 'ih-mock': 'server/cli/main.ts' },
    outdir: BUNDLE_DIR,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    metafile: true,
    plugins: [inlineRequires(besideBundle), lazyBuiltins],
    logLevel: 'warning',
    write: false,
  });
  await writeWithRequire(result.outputFiles);
  for (const file of besideBundle) await cp(join(PACKAGE_ROOT, 'server', file), join(BUNDLE_DIR, file));
  await writeFile(BUNDLE_METAFILE, JSON.stringify(result.metafile));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await buildCliBundle();

#!/usr/bin/env node
// Entry point of `npx ih-mock`: runs the CLI as bundled at build (`npm ci` / `npm install` build it
// via prepare; server/cli/build-bundle.ts says why a bundle).
import { main } from '../dist/bundle/ih-mock.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`ih-mock: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);

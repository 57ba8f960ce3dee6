#!/usr/bin/env node
// Entry point of `npx ih-mock`: runs the compiled CLI (built by `npm ci` / `npm install` via prepare).
import { main } from '../dist/server/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`ih-mock: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);

// A correct Interhuman v1 client, run by the conformance kit (contract: ../README.md): the
// shared session of common.mjs with no hooks. As a command it runs one session and exits with its
// code; runReference(env) runs it in-process (a client function for the kit, or the bench).
import { pathToFileURL } from 'node:url';
import { run } from './common.mjs';

/** Run one session with the contract's environment; resolves with the exit code (0: handled). */
export const runReference = (env = process.env) => run({ name: 'reference' }, env);

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runReference().then((code) => process.exit(code));

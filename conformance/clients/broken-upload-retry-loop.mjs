// BROKEN on purpose (conformance kit example): uploads the file again at once whenever an upload does
// not succeed, whatever the answer (413, quota exhausted, rate limited) and with no regard for
// Retry-After, up to 10 attempts. Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = { name: 'broken-upload-retry-loop', retryUpload: (_answer, attempt) => (attempt < 10 ? 0 : null) };

runAsCommand(import.meta.url, hooks);

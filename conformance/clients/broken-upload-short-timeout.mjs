// BROKEN on purpose (conformance kit example): gives up on an upload's answer after 2 s, as a client
// with an HTTP library's short default timeout does; the real analysis takes one to three minutes.
// Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = { name: 'broken-upload-short-timeout', uploadTimeoutMs: 2000, retryUpload: () => null };

runAsCommand(import.meta.url, hooks);

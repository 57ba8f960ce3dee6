// BROKEN on purpose (conformance kit example): gives up on an upload's answer after 1.5 s, as a client
// with an HTTP library's short default timeout does; the real analysis takes one to three minutes.
// (Not a whole number of seconds: scripted delays are whole seconds, so whether it gives up never
// depends on a few milliseconds, and a shrunk reproducer fails again.) Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = { name: 'broken-upload-short-timeout', uploadTimeoutMs: 1500, retryUpload: () => null };

runAsCommand(import.meta.url, hooks);

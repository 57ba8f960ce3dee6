// BROKEN on purpose (conformance kit example): gives up on an upload's answer after 2 s, as a client
// with an HTTP library's short default timeout does; the real analysis takes one to three minutes.
// Everything else is reference.mjs.
import { run } from './common.mjs';

run({ name: 'broken-upload-short-timeout', uploadTimeoutMs: 2000, retryUpload: () => null }).then((code) => process.exit(code));

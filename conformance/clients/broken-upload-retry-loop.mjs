// BROKEN on purpose (conformance kit example): uploads the file again at once whenever an upload does
// not succeed, whatever the answer (413, quota exhausted, rate limited) and with no regard for
// Retry-After, up to 10 attempts. Everything else is reference.mjs.
import { run } from './common.mjs';

run({ name: 'broken-upload-retry-loop', retryUpload: (_answer, attempt) => (attempt < 10 ? 0 : null) }).then((code) => process.exit(code));

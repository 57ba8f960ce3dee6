// BROKEN on purpose (conformance kit example): sends its include flags as "include" fields; the upload
// endpoint reads "include[]" and ignores any other field, so the conversation-quality sections the
// client asked for never come. Everything else is reference.mjs.
import { run } from './common.mjs';

run({ name: 'broken-upload-include', includeField: 'include' }).then((code) => process.exit(code));

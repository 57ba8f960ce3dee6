// BROKEN on purpose (conformance kit example): sends its include flags as "include" fields; the upload
// endpoint reads "include[]" and ignores any other field, so the conversation-quality sections the
// client asked for never come. Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = { name: 'broken-upload-include', includeField: 'include' };

runAsCommand(import.meta.url, hooks);

// BROKEN on purpose (conformance kit example): surfaces an error's code but not the segment it
// concerns ("segment": 2 in the envelope), so its user cannot tell which part of the recording was not
// analyzed. Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = { name: 'broken-error-without-segment', errorObservation: (data) => ({ kind: 'error', code: data.code }) };

runAsCommand(import.meta.url, hooks);

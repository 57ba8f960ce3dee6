// BROKEN on purpose (conformance kit example): reads an upload answer's signals with the stream's
// field name, signal_type, where the upload endpoint says "type" ({"signals":[{"type","start","end",…}]}).
// Every span it records has an undefined type. Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = { name: 'broken-upload-signal-type', uploadSignalType: (s) => s.signal_type };

runAsCommand(import.meta.url, hooks);

// BROKEN on purpose (conformance kit example): reads an upload answer's signals with the stream's
// field name, signal_type, where the upload endpoint says "type" ({"signals":[{"type","start","end",…}]}).
// Every span it records has an undefined type. Everything else is reference.mjs.
import { run } from './common.mjs';

run({ name: 'broken-upload-signal-type', uploadSignalType: (s) => s.signal_type }).then((code) => process.exit(code));

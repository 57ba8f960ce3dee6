// BROKEN on purpose (conformance kit example): ignores session.ready's max_segment_size_bytes and
// always sends IH_MEDIA_FILE whole, as one binary message. On a server whose limit is smaller than
// the file, the message is refused with error ih6002 (segment 1) and no media is analyzed: no signal
// events, empty spans. Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = { name: 'broken-ignores-size-limit', maxBytes: () => Infinity };

runAsCommand(import.meta.url, hooks);

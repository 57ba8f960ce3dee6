// BROKEN on purpose (conformance kit example): does not wait for session.ready. As soon as the socket
// opens it sends the config frame, IH_MEDIA_FILE whole (it never reads the limits, so it cannot
// choose segments) and session.close. Its media goes out even to a session that is refused
// (missing-scope: error ih2003 and no session.ready at all; quota-exhausted), and exceeds a small
// max_segment_size_bytes (error ih6002). Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = { name: 'broken-ignores-ready', startOnOpen: true };

runAsCommand(import.meta.url, hooks);

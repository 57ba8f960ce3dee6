// BROKEN on purpose (conformance kit example): ends the session by closing the socket (1000) right
// after its last segment, without {"type":"session.close"}. The server then cancels the analysis still
// in flight: the last windows' results, and the signal.ended events of the signals still active, never
// come (its spans end at the disconnect, as the wire implies, so only the missing request shows).
// Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = { name: 'broken-no-session-close', endSession: (ws) => ws.close(1000) };

runAsCommand(import.meta.url, hooks);

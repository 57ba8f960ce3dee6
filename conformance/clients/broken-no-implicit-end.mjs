// BROKEN on purpose (conformance kit example): never ends the signals still active when the
// connection ends. After a drop (disconnect-mid-signal), an idle timeout or any close without
// signal.ended, its spans line holds spans with no `end` (the key is absent), where the protocol
// says they end at the last media time the client knew of. Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = { name: 'broken-no-implicit-end', implicitEnd: false };

runAsCommand(import.meta.url, hooks);

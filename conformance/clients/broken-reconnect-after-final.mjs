// BROKEN on purpose (conformance kit example): its reconnect policy, like a reconnecting-WebSocket
// wrapper's default, connects again after every close, politely (1.5 s of backoff, at most twice),
// without asking why the session ended: after session.ended it streams its media again in a new
// session, and after ih2003 (4003), ih3003 (4029) or a 401 on the upgrade it tries again in vain.
// Within client.no-hammering's limits; client.no-reconnect-after-final catches it. Everything else
// is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = { name: 'broken-reconnect-after-final', reconnect: (_code, connections) => (connections <= 2 ? 1500 : false) };

runAsCommand(import.meta.url, hooks);

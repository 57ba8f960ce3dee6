// BROKEN on purpose (conformance kit example): whenever the connection ends with any code but 1000
// (quota exhausted 4029, missing scope 4003, a network drop 1006, …) it reconnects at once, with no
// backoff and no regard for the error, up to 20 times: 21 sessions in a tight loop, each starting over
// (config, media, close). Observations accumulate across the connections in one file; one spans line
// at the end. Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = { name: 'broken-reconnect-loop', reconnect: (code, connections) => code !== 1000 && connections <= 20 };

runAsCommand(import.meta.url, hooks);

// BROKEN on purpose (conformance kit example): treats an event type it does not know as fatal. On
// the first unknown type (e.g. feedback.generated in the unknown-event scenario) it throws: it stops
// processing, closes the socket (close frame with no status code, before session.ended) and exits 1
// without writing its spans line. Clients must ignore unknown types. Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = {
  name: 'broken-unknown-type-fatal',
  onUnknown: (type) => {
    throw new Error(`unknown event type ${type}`);
  },
};

runAsCommand(import.meta.url, hooks);

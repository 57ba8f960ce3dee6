// BROKEN on purpose (conformance kit example): sends its session config as
// {"type":"session.configure","include":[…]}, the shape of the seed-003 launch post. The v1 config
// frame is a bare object with no `type` (no other keys allowed), so the server answers error ih6001
// instead of session.updated and never applies the include flags: no conversation_quality.updated
// events. Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = {
  name: 'broken-session-configure',
  config: { type: 'session.configure', include: ['conversation_quality_overall', 'conversation_quality_timeline'] },
};

runAsCommand(import.meta.url, hooks);

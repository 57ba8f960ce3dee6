// BROKEN on purpose (conformance kit example): reads signals from data.signals[], the stale shape of
// the seed-000 docs ({"signals":[{"type","start","end",…}]}), instead of the flat v1 fields
// (data.signal_type / start / end). The v1 server never sends that array, so this client never records
// a signal: its spans are empty although the wire carried signal.detected / signal.ended events
// (which its observations still list). Everything else is reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = {
  name: 'broken-signals-array',
  signals: (data) => (data.signals ?? []).map((s) => ({ signal_type: s.type, start: s.start, end: s.end })),
};

runAsCommand(import.meta.url, hooks);

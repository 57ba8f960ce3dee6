// BROKEN on purpose (conformance kit example): keeps one span per signal type (a map keyed by type),
// so a type that ends and is detected again later overwrites its earlier span: after flapping
// signals its final view has one span per type where the wire had several. Everything else is
// reference.mjs.
import { runAsCommand } from './common.mjs';

export const hooks = { name: 'broken-span-per-type', onePerType: true };

runAsCommand(import.meta.url, hooks);

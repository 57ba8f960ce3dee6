/**
 * What grew between two V8 heap snapshots (e.g. from `npm run bench -- --only=memory --heap-snapshots`):
 *
 *   npx tsx bench/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top=25] [--property=NAME ...]
 *
 * Prints object groups (constructor name for objects and closures, node type otherwise) by growth
 * in retained-by-nothing-special self size and count. `--property=NAME` also summarises the objects
 * referenced through properties called NAME (how many, and their element/property counts), which is
 * how to check whether one per-session array keeps growing.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] }; node_count: number };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Group {
  count: number;
  size: number;
}

interface Parsed {
  groups: Map<string, Group>;
  properties: Map<string, number[]>;
}

const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const top = Number(/^--top=(\d+)$/.exec(process.argv.find((a) => a.startsWith('--top=')) ?? '')?.[1] ?? 25);
const properties = process.argv.filter((a) => a.startsWith('--property=')).map((a) => a.slice('--property='.length));
if (files.length !== 2) {
  console.error('usage: npx tsx bench/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top=25] [--property=NAME ...]');
  process.exit(2);
}

function parse(path: string): Parsed {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const nf = s.snapshot.meta.node_fields;
  const ef = s.snapshot.meta.edge_fields;
  const nodeTypes = s.snapshot.meta.node_types[0];
  const edgeTypes = s.snapshot.meta.edge_types[0];
  const N = nf.length;
  const E = ef.length;
  const [TYPE, NAME, SIZE, EDGES] = ['type', 'name', 'self_size', 'edge_count'].map((f) => nf.indexOf(f)) as [number, number, number, number];
  const [ETYPE, ENAME, ETO] = ['type', 'name_or_index', 'to_node'].map((f) => ef.indexOf(f)) as [number, number, number];
  const groups = new Map<string, Group>();
  const props = new Map<string, number[]>(properties.map((p) => [p, []]));
  let edge = 0;
  for (let n = 0; n < s.nodes.length; n += N) {
    const type = nodeTypes[s.nodes[n + TYPE]!]!;
    const name = s.strings[s.nodes[n + NAME]!]!;
    const key = type === 'object' || type === 'closure' ? `${type} ${name}` : type === 'native' ? `native ${name.split(' ')[0]}` : type;
    const g = groups.get(key) ?? { count: 0, size: 0 };
    g.count++;
    g.size += s.nodes[n + SIZE]!;
    groups.set(key, g);
    const edgeCount = s.nodes[n + EDGES]!;
    for (let e = 0; e < edgeCount; e++, edge += E) {
      if (props.size === 0) continue;
      const et = edgeTypes[s.edges[edge + ETYPE]!];
      if (et !== 'property') continue;
      const pname = s.strings[s.edges[edge + ENAME]!]!;
      const list = props.get(pname);
      if (!list) continue;
      const to = s.edges[edge + ETO]!; // index into nodes (already multiplied by N)
      // Elements/properties of the target: its outgoing edges of type element or property.
      const targetEdges = s.nodes[to + EDGES]!;
      list.push(targetEdges);
    }
  }
  return { groups, properties: props };
}

const [a, b] = files.map(parse) as [Parsed, Parsed];
const keys = new Set([...a.groups.keys(), ...b.groups.keys()]);
const rows = [...keys].map((k) => {
  const x = a.groups.get(k) ?? { count: 0, size: 0 };
  const y = b.groups.get(k) ?? { count: 0, size: 0 };
  return { k, dCount: y.count - x.count, dSize: y.size - x.size, size: y.size };
});
const total = (p: Parsed) => [...p.groups.values()].reduce((n, g) => n + g.size, 0);
console.log(`self size: ${(total(a) / 1e6).toFixed(2)} MB → ${(total(b) / 1e6).toFixed(2)} MB (${((total(b) - total(a)) / 1024).toFixed(0)} KB)`);
console.log('\n   Δ size (KB)   Δ count   group');
for (const r of rows.sort((p, q) => q.dSize - p.dSize).slice(0, top)) {
  console.log(`${(r.dSize / 1024).toFixed(1).padStart(13)} ${String(r.dCount).padStart(9)}   ${r.k}`);
}
for (const p of properties) {
  const summary = (list: number[]) => {
    if (list.length === 0) return 'none';
    const sorted = [...list].sort((x, y) => x - y);
    return `${list.length} objects, edges per object min ${sorted[0]} median ${sorted[sorted.length >> 1]} max ${sorted[sorted.length - 1]}`;
  };
  console.log(`\nproperty "${p}": before ${summary(a.properties.get(p)!)}; after ${summary(b.properties.get(p)!)}`);
}

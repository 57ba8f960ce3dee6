/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), written for the tests
 * from the format's description so /metrics is checked by code that shares nothing with what made
 * it. It refuses what Prometheus would refuse and a bit more: malformed names, labels or values,
 * samples before their family's TYPE, a family declared twice or split up, a series given twice,
 * histograms whose buckets are not cumulative or whose +Inf bucket is not the count.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string | undefined;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+(-?\\d+))?$`);
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const finished = new Set<string>();
  let current: Family | undefined;
  const seen = new Set<string>();
  const fail = (line: number, why: string): never => {
    throw new Error(`metrics line ${line}: ${why}`);
  };
  if (text !== '' && !text.endsWith('\n')) fail(0, 'the text must end with a newline');
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((raw, index) => {
    const n = index + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(raw);
      if (!m) return; // an ordinary comment
      const [, keyword, name, rest = ''] = m;
      if (!new RegExp(`^${NAME}$`).test(name!)) fail(n, `bad metric name ${name}`);
      let family = families.get(name!);
      if (family === undefined) {
        if (current) finished.add(current.name);
        family = { name: name!, type: 'untyped', help: undefined, samples: [] };
        families.set(name!, family);
        current = family;
      } else if (family !== current || family.samples.length > 0) {
        fail(n, `${keyword} for ${name} after its samples, or split from its family`);
      }
      if (keyword === 'HELP') {
        if (family.help !== undefined) fail(n, `second HELP for ${name}`);
        family.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      } else {
        if (!TYPES.has(rest)) fail(n, `unknown type ${rest}`);
        family.type = rest as Family['type'];
      }
      return;
    }
    const m = SAMPLE.exec(raw);
    if (!m) fail(n, `not a sample: ${raw}`);
    const [, name, labelText, valueText] = m!;
    const family = current && familyOf(current, name!) ? current : undefined;
    if (family === undefined) fail(n, `sample ${name} outside its family (no TYPE line before it, or its family was already closed)`);
    if (finished.has(family!.name)) fail(n, `${family!.name} split up`);
    const labels = parseLabels(labelText ?? '', (why) => fail(n, why));
    const value = parseValue(valueText!);
    if (value === undefined) fail(n, `bad value ${valueText}`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) fail(n, `series ${key} given twice`);
    seen.add(key);
    family!.samples.push({ name: name!, labels, value: value! });
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

function familyOf(family: Family, sampleName: string): boolean {
  if (family.type === 'histogram') return [`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`].includes(sampleName);
  if (family.type === 'summary') return [family.name, `${family.name}_sum`, `${family.name}_count`].includes(sampleName);
  return sampleName === family.name;
}

function parseLabels(text: string, fail: (why: string) => never): Record<string, string> {
  const labels: Record<string, string> = {};
  let at = 0;
  while (at < text.length) {
    const eq = text.indexOf('=', at);
    if (eq < 0) fail(`bad labels {${text}}`);
    const name = text.slice(at, eq).trim();
    if (!LABEL_NAME.test(name)) fail(`bad label name ${name}`);
    if (name in labels) fail(`label ${name} twice`);
    if (text[eq + 1] !== '"') fail(`label ${name}: value not quoted`);
    let value = '';
    let i = eq + 2;
    for (; i < text.length && text[i] !== '"'; i++) {
      if (text[i] === '\\') {
        const next = text[++i];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else fail(`label ${name}: bad escape \\${next}`);
      } else value += text[i];
    }
    if (i >= text.length) fail(`label ${name}: unterminated value`);
    labels[name] = value;
    at = i + 1;
    if (text[at] === ',') at++;
    else if (at < text.length) fail(`bad labels {${text}}`);
  }
  return labels;
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : undefined;
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    groups.set(key, [...(groups.get(key) ?? []), s]);
    if (s.name.endsWith('_bucket') && le === undefined) throw new Error(`${family.name}: a bucket without le`);
  }
  for (const samples of groups.values()) {
    const buckets = samples.filter((s) => s.name.endsWith('_bucket')).map((s) => ({ le: parseValue(s.labels['le']!)!, value: s.value }));
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]!.le > buckets[i - 1]!.le) || buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${family.name}: buckets not cumulative`);
    }
    const inf = buckets.at(-1);
    const count = samples.find((s) => s.name.endsWith('_count'));
    if (inf?.le !== Infinity || count === undefined || inf.value !== count.value) throw new Error(`${family.name}: the +Inf bucket must equal _count`);
  }
}

/** The value of one series (labels must match exactly), or undefined. */
export function valueOf(families: Map<string, Family>, family: string, labels: Record<string, string> = {}, sample = family): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return families.get(family)?.samples.find((s) => s.name === sample && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}

/** `ih-mock record --upstream <URL>`: a recording proxy in front of the real API (or any server of it). */
import { CommandUsageError } from './io.js';
import type { Command } from './options.js';
import { optionFlag } from './schema-flags.js';

/** Where a recording proxy or replay server listens, and how much it logs: the serve flags of the same name. */
export function listenFlags(logLevel: string) {
  return [optionFlag('host'), optionFlag('port'), optionFlag('logLevel', { default: logLevel })];
}

/** The upstream as the proxy wants it: http(s). A ws(s) URL (the stream's, say) means the same server. */
export function upstreamUrl(raw: string): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || !['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) {
    throw new CommandUsageError(`--upstream expects an http(s) or ws(s) URL of the API, e.g. https://api.interhuman.ai, got "${raw}"`);
  }
  if (url.protocol === 'ws:') url.protocol = 'http:';
  if (url.protocol === 'wss:') url.protocol = 'https:';
  return url.origin;
}

export const command: Command = {
  name: 'record',
  summary: 'Proxy to the real API (or any server of it) and record every session to a file, credentials redacted.',
  details: ['Serves until SIGINT/SIGTERM (exit 0). Prints "ih-mock record ready at <base URL>" first; point your client there.'],
  flags: [
    { name: 'upstream', type: 'string', value: '<url>', required: true, convert: upstreamUrl, description: 'The API to forward to: an http(s) or ws(s) URL, e.g. https://api.interhuman.ai (only its origin counts).' },
    { name: 'out', type: 'string', value: '<file>', default: 'ih-mock-recording-<time>.jsonl', description: 'The recording (JSON lines).' },
    { name: 'with-media', type: 'boolean', description: 'Keep the media bytes in a sidecar file <out>.media (by default a segment is recorded as its size, duration and SHA-256).' },
    { name: 'label', type: 'string', value: '<text>', description: 'A note stored in the recording header (what was recorded, and how).' },
    ...listenFlags('info'),
  ],
  async run({ values }, io) {
    return (await import('./recording-run.js')).runRecord(values, io);
  },
};

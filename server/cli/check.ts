/** `ih-mock check <recording>... | <ws(s)://URL> --key <key>`: the server side against the protocol invariants. */
import type { Command } from './options.js';

export const command: Command = {
  name: 'check',
  summary: 'Check recordings, or a live server, against the protocol invariants (exit 1 on a violation).',
  usage: ['<recording>... [--json]', '<ws(s)://stream URL> --key <key> [--timeout <s>] [--json]'],
  details: [
    'With recordings: every recorded stream session and upload, each violation named by session, frame and invariant.',
    'With a stream URL: drives that server with the reference client (one stream session with a sample file, then one upload of it) and checks what it sent.',
    'Exit 0 ok, 1 a violation (this wins), 2 bad usage, 3 could not check (the last line says why: a refused key, an unreachable or silent server, the time limit).',
  ],
  flags: [
    { name: 'key', type: 'string', value: '<key>', description: 'API key for a live server (sent as Authorization: Bearer).' },
    { name: 'timeout', type: 'number', value: '<s>', ranges: [{ min: 0, exclusiveMin: true }], default: '300', description: 'A live check: the time the whole check may take; what it could not verify by then is reported as not checked (exit 3).' },
    { name: 'json', type: 'boolean', description: 'Print the results as JSON instead of lines.' },
  ],
  positionals: { name: '<recording>... | <ws(s)://URL>', description: 'recording files (ih-mock record writes them), or one stream URL with --key', min: 1, max: Infinity },
  async run({ values, positionals }, io) {
    const { runCheck } = await import('../../conformance/check.js');
    return runCheck({ files: positionals, ...(typeof values['key'] === 'string' ? { key: values['key'] } : {}), ...(typeof values['timeout'] === 'number' ? { timeout: values['timeout'] } : {}), json: values['json'] === true }, io);
  },
};

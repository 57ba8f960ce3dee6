/** `ih-mock replay <recording>`: serve a recording's server side back, and report where a client differs. */
import type { Command } from './options.js';
import { listenFlags } from './record.js';

export const command: Command = {
  name: 'replay',
  summary: 'Serve a recording back to your client and report where it differs from the recorded client.',
  details: ['Serves until SIGINT/SIGTERM; then exits 1 if a client diverged from the recording, 0 if not. Prints "ih-mock replay ready at <base URL>" first.'],
  flags: [
    { name: 'speed', type: 'number', value: '<x>', ranges: [{ min: 0, exclusiveMin: true }], default: '1', description: 'At the recorded pace, this many times faster.' },
    { name: 'pace', type: 'string', choices: ['recorded', 'media'], default: 'recorded', description: "recorded: each event at its recorded time (with --speed); media: each event once the client has sent the media it is about." },
    { name: 'client-idle', type: 'number', value: '<s>', ranges: [{ min: 0, exclusiveMin: true }], default: '10', description: 'Once the recording can go no further without the client and the client has sent nothing for this long, it gets the rest of the recorded session and its close; what it did not send is reported as a divergence.' },
    { name: 'report', type: 'string', value: '<file>', description: 'Write the divergences as JSON to this file on exit.' },
    { name: 'seed', type: 'integer', ranges: [{ min: 0, max: 2 ** 32 - 1 }], default: '0', description: 'Seed of the access tokens served in place of the redacted ones.' },
    ...listenFlags('silent'),
  ],
  positionals: { name: '<recording>', description: 'a recording file (.jsonl), from ih-mock record', min: 1, max: 1 },
  async run({ values, positionals }, io) {
    return (await import('./recording-run.js')).runReplay(values, positionals[0]!, io);
  },
};

/**
 * Raw key order of every envelope type, read from the frame text as it arrives on a real socket
 * (issue 11, item 4). Live envelopes serialize as `timestamp, correlation_id, type, data` (captured
 * live session, christymanthara/cyberwave-interhuman session.json, 2026-06-20; the launch post's
 * example too); `data` keys follow the live capture (session.ready, session.updated) and the
 * documented examples (the other types).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../server/clock.js';
import { readMedia } from '../support/media.js';
import { startServer, useServers } from '../support/server.js';
import { closeOnClock, openClient, steadyWith, streamPaced } from '../support/session.js';

useServers();

const ENVELOPE = ['timestamp', 'correlation_id', 'type', 'data'];
const SCORES = ['quality_index', 'clarity', 'authority', 'energy', 'rapport', 'learning'];
const SIGNAL = ['signal_type', 'start', 'probability', 'rationale'];

/** Expected `data` key order per type. */
const DATA: Record<string, string[]> = {
  'session.ready': ['session_idle_timeout_seconds', 'session_max_duration_seconds', 'max_segment_duration_seconds', 'min_segment_duration_seconds', 'min_segment_size_bytes', 'max_segment_size_bytes', 'supported_session_config_options'],
  'session.updated': ['include', 'goal_dimensions'],
  'signal.detected': SIGNAL,
  'signal.updated': SIGNAL,
  'signal.ended': ['signal_type', 'end'],
  'engagement.updated': ['state', 'start'],
  'conversation_quality.updated': ['overall', 'timeline'],
  error: ['code', 'message', 'link', 'segment'],
  'session.closing': ['max_drain_seconds'],
  'session.ended': ['reason'],
  'coverage.dropped': ['ranges'],
};

/** Key order of the nested objects, by the path of keys that leads to them. */
function nestedOrders(type: string, data: Record<string, any>): [string, string[], string[]][] {
  switch (type) {
    case 'session.ready':
      return [['supported_session_config_options', Object.keys(data['supported_session_config_options']), ['include', 'goal_dimensions']]];
    case 'conversation_quality.updated':
      return [
        ['overall', Object.keys(data['overall']), SCORES],
        ...data['timeline'].flatMap((entry: Record<string, any>, i: number): [string, string[], string[]][] => [
          [`timeline/${i}`, Object.keys(entry), ['start', 'end', 'values']],
          [`timeline/${i}/values`, Object.keys(entry['values']), SCORES],
        ]),
      ];
    case 'coverage.dropped':
      return data['ranges'].map((r: object, i: number): [string, string[], string[]] => [`ranges/${i}`, Object.keys(r), ['start', 'end']]);
    default:
      return [];
  }
}

let segment: Buffer;
beforeAll(async () => {
  segment = await readMedia({ container: 'webm', video: 'vp8', audio: 'opus', seconds: 3 });
}, 60_000);

describe('envelope key order on the wire', () => {
  it('every envelope type, and its data (nested objects too), in the live key order', async () => {
    const clock = new VirtualClock();
    // steady has signal.updated; a shed: all span gives coverage.dropped; instant timing for speed.
    const server = await startServer({ clock, scenario: steadyWith({ processing: { timing: 'instant' }, load: [{ start: 30, end: 45, shed: 'all' }] }) });
    const { client, session } = await openClient(server);
    client.sendJson({ include: ['conversation_quality_overall', 'conversation_quality_timeline'] });
    await client.waitForType('session.updated');
    client.sendJson({ type: 'session.configure' }); // error ih6001, the session goes on
    await client.waitForType('error');
    await streamPaced(client, session, clock, Array.from({ length: 20 }, () => segment), 0);
    await closeOnClock(client, clock);

    expect(client.texts[0]!.startsWith('{"timestamp":"')).toBe(true);
    const seen = new Set<string>();
    for (const text of client.texts) {
      const frame = JSON.parse(text);
      seen.add(frame.type);
      expect(Object.keys(frame), `${frame.type} envelope`).toEqual(ENVELOPE);
      expect(Object.keys(frame.data), `${frame.type} data`).toEqual(DATA[frame.type]);
      for (const [path, got, want] of nestedOrders(frame.type, frame.data)) expect(got, `${frame.type} data/${path}`).toEqual(want);
    }
    expect([...seen].sort()).toEqual(Object.keys(DATA).sort());
  });
});

/**
 * The numbered case catalogue, Autobahn-style: 1.x handshake and auth, 2.x config, 3.x segments and
 * limits, 4.x signal lifecycles, 5.x errors, 6.x close and timeouts, 7.x load and dropped windows,
 * 8.x the upload endpoint. Each case is a scenario (a built-in or a variant of one, with its faults)
 * plus the invariants it stresses; every client invariant is checked in every case, the stressed
 * ones are what the case is for. 8.x cases run the client with IH_TRANSPORT=upload.
 */
import { loadScenario } from '../scenarios/loader.js';
import type { Scenario } from '../server/types/generated.js';

/** What a case exercises: the stream endpoint, or the upload endpoint. */
export type Transport = 'stream' | 'upload';
export const TRANSPORTS: readonly Transport[] = ['stream', 'upload'];

export interface ConformanceCase {
  id: string;
  title: string;
  /** What the case checks, for reports. */
  description: string;
  scenario: Scenario;
  /** Default stream. */
  transport?: Transport;
  /** Media the client gets: 12 or 24 s. */
  mediaSeconds: 12 | 24;
  /** Invariants this case is about (all are checked). */
  stresses: string[];
  /** INFORMATIONAL: violations are reported, never FAILED. */
  informational?: boolean;
  /** How long the client may run (ms); default: computed from the scenario (runner.ts, caseTimeoutMs). */
  timeoutMs?: number;
  /** The key the client gets as IH_API_KEY: one the server accepts (default), or `revoked`: one it refuses with 401 ih2001. */
  credential?: 'valid' | 'revoked';
}

/** A built-in with changes (faults, limits), instant timing unless it says otherwise. */
function variant(name: string, changes: Partial<Scenario> = {}): Scenario {
  const base = loadScenario(name);
  return { ...structuredClone(base), processing: { timing: 'instant', ...(base.processing ?? {}) }, ...changes } as Scenario;
}

export const CASES: readonly ConformanceCase[] = [
  {
    id: '1.1',
    title: 'Handshake and a whole session',
    description: 'steady: session.ready, a config frame, the media, a graceful close. The client waits for session.ready before sending video and ends with session.close.',
    scenario: variant('steady'),
    mediaSeconds: 24,
    stresses: ['client.waits-for-ready', 'client.authenticates', 'client.graceful-close', 'client.close-requested', 'client.no-reconnect-after-final'],
  },
  {
    id: '1.2',
    title: 'Credential without the stream scope',
    description: 'The server answers the upgrade with error ih2003 and closes 4003, without session.ready. The client surfaces the error and does not connect again: the credential will not gain the scope by retrying.',
    scenario: variant('missing-scope'),
    mediaSeconds: 12,
    stresses: ['client.errors-surfaced', 'client.no-reconnect-after-final', 'client.no-hammering'],
  },
  {
    id: '1.3',
    title: 'Usage quota exhausted on open',
    description: 'session.ready, then error ih3003 and close 4029. The client surfaces it and does not connect again: the quota is gone until the next billing period.',
    scenario: variant('quota-exhausted'),
    mediaSeconds: 12,
    stresses: ['client.errors-surfaced', 'client.no-reconnect-after-final', 'client.no-hammering'],
  },
  {
    id: '1.4',
    title: 'Key refused at the upgrade',
    description: 'IH_API_KEY is a revoked key: the upgrade is answered 401 (ih2001) and no session opens. The client gives up instead of connecting again with the same key.',
    scenario: variant('steady'),
    credential: 'revoked',
    mediaSeconds: 12,
    stresses: ['client.no-reconnect-after-final', 'client.no-hammering'],
  },
  {
    id: '2.1',
    title: 'Config frame shape',
    description: 'The config frame is the bare object {"include":[...]} (no "type": the launch post\'s session.configure is refused with ih6001).',
    scenario: variant('steady'),
    mediaSeconds: 12,
    stresses: ['client.config-valid'],
  },
  {
    id: '3.1',
    title: 'Advertised segment size limit',
    description: 'session.ready announces max_segment_size_bytes of 100 000: the 12-s file (about 95 KB) fits, the 24-s one does not. The client never sends a larger message.',
    scenario: variant('steady', { limits: { max_segment_size_bytes: 100_000 } }),
    mediaSeconds: 24,
    stresses: ['client.segment-size', 'client.segment-duration'],
  },
  {
    id: '4.1',
    title: 'Signal lifecycle: detected, updated, ended',
    description: 'steady over 24 s: agreement ends, hesitation is updated and still active at the close. The client ends up with the spans the wire implies.',
    scenario: variant('steady'),
    mediaSeconds: 24,
    stresses: ['client.events-in-order', 'client.spans-match', 'client.spans-closed'],
  },
  {
    id: '4.2',
    title: 'Flapping signals',
    description: 'Short spans of the same types detected and ended again and again.',
    scenario: variant('flapping-signals'),
    mediaSeconds: 24,
    stresses: ['client.spans-match', 'client.spans-closed'],
  },
  {
    id: '4.3',
    title: 'Probability shifts',
    description: 'Long spans with many signal.updated: the span keeps its start.',
    scenario: variant('probability-shifts'),
    mediaSeconds: 24,
    stresses: ['client.events-in-order', 'client.spans-match'],
  },
  {
    id: '4.4',
    title: 'Disconnect mid-signal',
    description: 'The connection is cut (no close frame) right after the first window\'s results, while signals it detected are still active and more results are due: the client ends the signals still active at the disconnect.',
    // On the session's progress, not the clock: the cut comes after the first detection however the
    // client chunks its media and however busy the machine is.
    scenario: variant('steady', { faults: [{ when: { windows_sent: 1 }, action: 'disconnect' }] }),
    mediaSeconds: 24,
    stresses: ['client.spans-closed', 'client.spans-match'],
  },
  {
    id: '5.1',
    title: 'A segment error mid-session',
    description: 'The advertised 100 000-byte limit makes the client send the 24-s media in parts; the second one gets error ih5004 with "segment": 2 and the session goes on. The client surfaces the code with its segment and finishes normally.',
    // By segment, so the envelope says which one (a media-time trigger sends segment null).
    scenario: variant('steady', { limits: { max_segment_size_bytes: 100_000 }, faults: [{ when: { segment: 2 }, action: 'error', code: 'ih5004' }] }),
    mediaSeconds: 24,
    stresses: ['client.errors-surfaced', 'client.graceful-close'],
  },
  {
    id: '5.2',
    title: 'Unknown event types',
    description: 'Events of types v1 does not define arrive between known ones: the client ignores them and goes on.',
    scenario: variant('steady', {
      faults: [
        { when: { media_seconds: 6 }, action: 'unknown_event' },
        { when: { media_seconds: 9 }, action: 'unknown_event', event_type: 'signal.explained', data: { signal_type: 'agreement' } },
      ],
    }),
    mediaSeconds: 24,
    stresses: ['client.events-in-order', 'client.graceful-close'],
  },
  {
    id: '5.3',
    title: 'Internal error and close',
    description: 'At 6 s of media the server sends ih1001 and closes 1011: the client surfaces it and does not reconnect in a loop.',
    scenario: variant('steady', { faults: [{ when: { media_seconds: 6 }, action: 'error', code: 'ih1001', close: true }] }),
    mediaSeconds: 24,
    stresses: ['client.errors-surfaced', 'client.no-hammering', 'client.spans-closed'],
  },
  {
    id: '6.1',
    title: 'Graceful close',
    description: 'session.close, then nothing but waiting: session.closing, the closing signal.ended events, session.ended, 1000. No video after session.close.',
    scenario: variant('steady'),
    mediaSeconds: 12,
    stresses: ['client.graceful-close', 'client.close-requested', 'client.no-media-after-close', 'client.spans-match'],
  },
  {
    id: '6.2',
    title: 'Idle timeout',
    description: 'A 2-s idle timeout: a client that pauses between segments is closed with ih6003 (informational: clients that stream continuously never see it).',
    scenario: variant('steady', { limits: { idle_timeout_seconds: 2 } }),
    mediaSeconds: 12,
    stresses: ['client.no-idle-timeout'],
    informational: true,
  },
  {
    id: '6.3',
    title: 'Silence before the results',
    description: 'The first window takes 8 s and everything behind it waits, so after session.closing nothing comes for about 8 s (live, the first event comes about 10 s in, with gaps up to 12 s). The client waits for session.ended instead of closing on a silence timeout.',
    scenario: variant('steady', { faults: [{ action: 'delay', seconds: 8 }] }),
    mediaSeconds: 12,
    stresses: ['client.close-requested', 'client.spans-match'],
  },
  {
    id: '7.1',
    title: 'Overloaded server: dropped windows',
    description: 'overloaded-server with all its media at once: windows are shed and coverage.dropped arrives; events stay in order and the client tolerates the notice.',
    scenario: variant('overloaded-server', { processing: { timing: 'instant' } }),
    mediaSeconds: 24,
    stresses: ['client.events-in-order', 'client.spans-match'],
  },
  {
    id: '8.1',
    title: 'Upload and read the result',
    description: 'The 24-s file uploaded once and analyzed: the client reads the signals (each with "type", not the stream\'s "signal_type") and sends any include flags as include[] fields.',
    scenario: variant('steady'),
    transport: 'upload',
    mediaSeconds: 24,
    stresses: ['client.upload-request', 'client.authenticates', 'client.upload-include', 'client.spans-match'],
  },
  {
    id: '8.2',
    title: 'Slow analysis',
    description: 'The answer comes 5 s after the upload (the real service takes one to three minutes): the client waits for it instead of giving up or uploading again.',
    scenario: variant('steady', { faults: [{ when: { upload: 1 }, action: 'delay', seconds: 5 }] }),
    transport: 'upload',
    mediaSeconds: 12,
    stresses: ['client.upload-waits', 'client.upload-retry', 'client.spans-match'],
  },
  {
    id: '8.3',
    title: 'File over the upload limit',
    description: '413 ih4003: the client surfaces it and does not send the same file again.',
    scenario: variant('steady', { faults: [{ when: { upload: 1 }, action: 'error', code: 'ih4003' }] }),
    transport: 'upload',
    mediaSeconds: 12,
    stresses: ['client.errors-surfaced', 'client.upload-retry'],
  },
  {
    id: '8.4',
    title: 'Too many concurrent uploads',
    description: '429 ih3002 with Retry-After 1 on the first upload: the client surfaces it, or tries again no sooner than 1 s later (the retry is analyzed).',
    scenario: variant('steady', { faults: [{ when: { upload: 1 }, action: 'error', code: 'ih3002', retry_after_seconds: 1 }] }),
    transport: 'upload',
    mediaSeconds: 12,
    stresses: ['client.upload-retry', 'client.errors-surfaced', 'client.spans-match'],
  },
  {
    id: '8.5',
    title: 'Rate limited',
    description: '429 ih3001 with Retry-After 2 on the first upload: a retry, if any, honours Retry-After.',
    scenario: variant('steady', { faults: [{ when: { upload: 1 }, action: 'error', code: 'ih3001', retry_after_seconds: 2 }] }),
    transport: 'upload',
    mediaSeconds: 12,
    stresses: ['client.upload-retry', 'client.errors-surfaced'],
  },
  {
    id: '8.6',
    title: 'Usage quota exhausted',
    description: '429 ih3003: final for this billing period. The client surfaces it and does not retry.',
    scenario: variant('quota-exhausted'),
    transport: 'upload',
    mediaSeconds: 12,
    stresses: ['client.errors-surfaced', 'client.upload-retry'],
  },
  {
    id: '8.7',
    title: 'Connection cut during an upload',
    description: 'The server cuts the connection with no answer: the client may try again after a backoff of at least 1 s (the retry is analyzed), or give up.',
    scenario: variant('steady', { faults: [{ when: { upload: 1 }, action: 'disconnect' }] }),
    transport: 'upload',
    mediaSeconds: 12,
    stresses: ['client.upload-retry', 'client.spans-match'],
  },
  {
    id: '8.8',
    title: 'Key refused',
    description: 'IH_API_KEY is a revoked key: the upload is answered 401 ih2001. The client surfaces it and does not send the file again.',
    scenario: variant('steady'),
    credential: 'revoked',
    transport: 'upload',
    mediaSeconds: 12,
    stresses: ['client.errors-surfaced', 'client.upload-retry'],
  },
];

/** Cases whose id matches any of the patterns (`4.*`, `1.2`, `*`). */
export function selectCases(patterns: readonly string[] | undefined, cases: readonly ConformanceCase[] = CASES): ConformanceCase[] {
  if (!patterns || patterns.length === 0) return [...cases];
  const regexes = patterns.map((p) => new RegExp(`^${p.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  return cases.filter((c) => regexes.some((r) => r.test(c.id)));
}

/**
 * Video codecs as the live service takes them, over real sockets with real ffmpeg media: H.264,
 * VP8 and VP9 accepted on the stream and on upload in every container; MPEG-4 Part 2 (what OpenCV
 * and ffmpeg write by default into .mp4/.avi) refused with ih5004 on the stream, the session staying
 * open, and with 422 ih5002 on upload, each naming the codec; the option and the scenario override.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../support/client.js';
import { readMedia, type MediaOptions } from '../support/media.js';
import { startServer, useServers } from '../support/server.js';
import { steadyWith } from '../support/session.js';
import { expectError, upload } from '../support/upload.js';

useServers();

const ACCEPTED: Array<[string, MediaOptions]> = [
  ['H.264 in MP4', { container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 }],
  ['H.264 in MP4 with the moov first (faststart)', { container: 'mp4', video: 'h264', audio: 'aac', seconds: 4, faststart: true }],
  ['H.264 in MOV', { container: 'mov', video: 'h264', audio: 'aac', seconds: 4 }],
  ['H.264 in MKV', { container: 'mkv', video: 'h264', audio: 'aac', seconds: 4 }],
  ['H.264 in MPEG-TS', { container: 'mpegts', video: 'h264', audio: 'aac', seconds: 4 }],
  ['H.264 in AVI', { container: 'avi', video: 'h264', audio: 'mp3', seconds: 4 }],
  ['VP8 in WebM', { container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 }],
  ['VP9 in WebM', { container: 'webm', video: 'vp9', audio: 'opus', seconds: 4 }],
];

/** [what, media, how the refusal names the codec]. */
const REFUSED: Array<[string, MediaOptions, string]> = [
  ['MPEG-4 Part 2 in MP4 (OpenCV-style mp4v)', { container: 'mp4', video: 'mpeg4', audio: 'aac', seconds: 4 }, 'MPEG-4 Part 2 (mp4v)'],
  ['MPEG-4 Part 2 in AVI', { container: 'avi', video: 'mpeg4', audio: 'mp3', seconds: 4 }, 'MPEG-4 Part 2 (FMP4)'],
  ['MPEG-4 Part 2 in MPEG-TS', { container: 'mpegts', video: 'mpeg4', audio: 'aac', seconds: 4 }, 'MPEG-4 Part 2 (stream_type 0x10)'],
  ['MPEG-4 Part 2 in MKV', { container: 'mkv', video: 'mpeg4', audio: 'aac', seconds: 4 }, 'MPEG-4 Part 2 (V_MPEG4/ISO/ASP)'],
];

const MP4V: MediaOptions = REFUSED[0]![1];
const VP8: MediaOptions = { container: 'webm', video: 'vp8', audio: 'opus', seconds: 4 };
const LIVE_ADVICE = 'send H.264, VP8 or VP9';

beforeAll(async () => {
  await Promise.all([...ACCEPTED, ...REFUSED].map(([, options]) => readMedia(options)));
}, 180_000);

type Server = Awaited<ReturnType<typeof startServer>>;

async function server(options: Parameters<typeof startServer>[0] = {}): Promise<Server> {
  return startServer({ scenario: 'steady', processingRatio: 0, ...options });
}

/**
 * Send `segments` in one session, then a config frame; once its session.updated arrives every
 * segment has been judged (frames are handled in order). Returns the errors and the media received.
 */
async function stream(s: Server, segments: Buffer[]): Promise<{ errors: Array<{ code: string; segment: number; message: string }>; receivedSeconds: number; open: boolean }> {
  const client = await connect(s.streamUrl);
  await client.waitForType('session.ready');
  for (const segment of segments) await client.sendBinary(segment);
  client.sendJson({ include: [] });
  await client.waitForType('session.updated');
  const session = [...s.sessions][0]!;
  return { errors: client.ofType('error').map((e) => e.data), receivedSeconds: session.stats.receivedSeconds, open: session.state === 'open' };
}

describe('accepted by default, on the stream and on upload', () => {
  it.each(ACCEPTED)('%s', async (_what, options) => {
    const media = await readMedia(options);
    const s = await server();
    const streamed = await stream(s, [media]);
    expect(streamed.errors).toEqual([]);
    expect(streamed.receivedSeconds).toBeGreaterThan(3.9);
    expect(streamed.receivedSeconds).toBeLessThan(4.2);
    const uploaded = await upload(s.baseUrl, media);
    expect(uploaded.status, uploaded.body.message).toBe(200);
  });
});

describe('MPEG-4 Part 2 refused by default, naming the codec', () => {
  it.each(REFUSED)('%s: ih5004 on the stream (the session stays open and takes the next segment), 422 ih5002 on upload', async (_what, options, named) => {
    const media = await readMedia(options);
    const s = await server();
    const streamed = await stream(s, [media, await readMedia(VP8)]);
    expect(streamed.errors).toEqual([
      {
        code: 'ih5004',
        segment: 1,
        message: `video codec ${named} is not supported; ${LIVE_ADVICE}`,
        link: 'https://docs.interhuman.ai/api-reference/error-handling#ih5004-malformed-video-segment',
      },
    ]);
    expect(streamed.open).toBe(true);
    expect(streamed.receivedSeconds).toBeCloseTo(4, 1); // the VP8 segment only

    const uploaded = await upload(s.baseUrl, media, { filename: 'call.mp4', type: 'video/mp4' });
    expectError(uploaded, 422, 'ih5002');
    expect(uploaded.body.message).toBe(`Unable to process the video: video codec ${named} is not supported; ${LIVE_ADVICE}.`);
  });
});

describe('the videoCodecs option and the scenario override', () => {
  it('widens: with mpeg4 added, mp4v is accepted on both endpoints', async () => {
    const s = await server({ videoCodecs: ['h264', 'vp8', 'vp9', 'mpeg4'] });
    const media = await readMedia(MP4V);
    const streamed = await stream(s, [media]);
    expect(streamed.errors).toEqual([]);
    expect(streamed.receivedSeconds).toBeCloseTo(4, 1);
    expect((await upload(s.baseUrl, media)).status).toBe(200);
  });

  it('narrows: without vp8, VP8 WebM is refused on both endpoints, and the advice lists what is left', async () => {
    const s = await server({ videoCodecs: ['h264', 'vp9'] });
    const media = await readMedia(VP8);
    const streamed = await stream(s, [media]);
    expect(streamed.errors.map((e) => [e.code, e.message])).toEqual([['ih5004', 'video codec VP8 (V_VP8) is not supported; send H.264 or VP9']]);
    expect(streamed.receivedSeconds).toBe(0);
    const uploaded = await upload(s.baseUrl, media);
    expectError(uploaded, 422, 'ih5002');
    expect(uploaded.body.message).toMatch(/VP8 \(V_VP8\)/);
  });

  it("a scenario's limits.video_codecs overrides the server's option, on both endpoints", async () => {
    const s = await server({ scenario: steadyWith({ limits: { video_codecs: ['any'] } }), videoCodecs: ['h264'] });
    const mp4v = await readMedia(MP4V);
    const streamed = await stream(s, [mp4v, await readMedia(VP8)]);
    expect(streamed.errors).toEqual([]);
    expect(streamed.receivedSeconds).toBeCloseTo(8, 1);
    expect((await upload(s.baseUrl, mp4v)).status).toBe(200);
  });
});

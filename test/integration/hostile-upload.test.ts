/**
 * Uploads that would hold an account's upload slots forever: parts the multipart parser skips,
 * bodies that stop or trickle. Each is answered with a v1 error in bounded (server-clock) time and
 * gives its slot back, so five of them never lock an account out. Over real sockets.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../server/clock.js';
import { readMedia } from '../support/media.js';
import { expectV1Error, openRaw, type RawConnection } from '../support/raw-http.js';
import { startServer, useServers } from '../support/server.js';
import { until } from '../support/wait.js';

useServers();

let mp4: Buffer;
beforeAll(async () => {
  mp4 = await readMedia({ container: 'mp4', video: 'h264', audio: 'aac', seconds: 4 });
}, 60_000);

/** A good upload through fetch: its status (and the error code if any). */
async function goodUpload(baseUrl: string): Promise<{ status: number; code?: string }> {
  const form = new FormData();
  form.append('file', new Blob([mp4 as Uint8Array<ArrayBuffer>], { type: 'video/mp4' }), 'call.mp4');
  const res = await fetch(`${baseUrl}/v1/upload/analyze`, { method: 'POST', body: form, headers: { Authorization: 'Bearer ih_live_raw' } });
  const body = (await res.json()) as { error_id?: string };
  return { status: res.status, code: body.error_id };
}

/** The head of a multipart upload announcing `length` body bytes. */
function uploadHead(length: number, extra = ''): string {
  return (
    `POST /v1/upload/analyze HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ih_live_raw\r\n${extra}` +
    `Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: ${length}\r\n\r\n`
  );
}

describe('a multipart part without Content-Disposition', () => {
  const shapes: [string, string][] = [
    ['a part with a Content-Type only', '--XYZ\r\nContent-Type: video/mp4\r\n\r\nhello\r\n--XYZ--\r\n'],
    ['a part with no headers', '--XYZ\r\n\r\nhello\r\n--XYZ--\r\n'],
    ['two 1-MB parts with no headers', `--XYZ\r\n\r\n${'a'.repeat(1 << 20)}\r\n--XYZ\r\n\r\n${'b'.repeat(1 << 20)}\r\n--XYZ--\r\n`],
    ['a part with an unknown header, then the end', '--XYZ\r\nX-Part: 1\r\n\r\n' + 'a'.repeat(100_000) + '\r\n--XYZ--\r\n'],
    ['Content-Disposition without form-data', '--XYZ\r\nContent-Disposition: attachment; filename="a.mp4"\r\n\r\nhello\r\n--XYZ--\r\n'],
    ['a file part after it', '--XYZ\r\nContent-Type: video/mp4\r\n\r\nhello\r\n--XYZ\r\nContent-Disposition: form-data; name="include[]"\r\n\r\nconversation_quality_overall\r\n--XYZ--\r\n'],
  ];

  it('is answered 400 ih4001; as many at once as the account has slots, on connections left open, do not lock it out', async () => {
    const server = await startServer({ processingRatio: 0, uploadConcurrency: shapes.length });
    const connections = await Promise.all(shapes.map(() => openRaw(server.baseUrl)));
    await Promise.all(shapes.map(([, body], k) => connections[k]!.write(uploadHead(Buffer.byteLength(body)) + body)));
    for (const [k, [name]] of shapes.entries()) {
      const body = expectV1Error(await connections[k]!.answer, 400, 'ih4001', name);
      expect(body.message, name).toMatch(/"file"/);
    }
    // The connections stay open (keep-alive); their slots are free all the same.
    await until(() => server.uploads.inFlight === 0, 'every slot is released');
    expect(await goodUpload(server.baseUrl)).toEqual({ status: 200, code: undefined });
    for (const c of connections) c.socket.destroy();
  });
});

describe('an upload body that stops or trickles', () => {
  /** `n` uploads whose body stops after the first bytes of the file (the Content-Length promises 10 MB). */
  async function stalledUploads(baseUrl: string, n: number): Promise<RawConnection[]> {
    const part = '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="call.mp4"\r\nContent-Type: video/mp4\r\n\r\n';
    return Promise.all(
      Array.from({ length: n }, async (_, k) => {
        const conn = await openRaw(baseUrl);
        // One of them asks to close after the exchange, as Python's urllib does. One write, so the
        // server has read every byte there will be by the time the upload holds its slot.
        await conn.write(Buffer.concat([Buffer.from(uploadHead(10 << 20, k === 0 ? 'Connection: close\r\n' : '') + part), mp4.subarray(0, 20_000)]));
        return conn;
      }),
    );
  }

  it('five stalled uploads lock the account only until uploadIdleTimeoutSeconds (server clock): 408 ih4908, connection closed, slot freed', async () => {
    const clock = new VirtualClock();
    const server = await startServer({ clock, processingRatio: 0, uploadIdleTimeoutSeconds: 2 });
    const stalled = await stalledUploads(server.baseUrl, 5);
    await until(() => server.uploads.inFlight === 5, 'five uploads hold their slots');
    // While they hold the account's five slots, a sixth upload is refused.
    expect(await goodUpload(server.baseUrl)).toEqual({ status: 429, code: 'ih3002' });
    await clock.advance(1_999);
    expect(stalled.map((c) => c.received())).toEqual(['', '', '', '', '']);
    // Answered between 1 and 1.25 idle spans after the last byte.
    await clock.advance(501);
    for (const conn of stalled) {
      const body = expectV1Error(await conn.answer, 408, 'ih4908', 'stalled upload');
      expect(body.message).toMatch(/No bytes of the upload arrived for 2 s \(uploadIdleTimeoutSeconds\)/);
      expect((await conn.answer).headers['connection']).toBe('close');
      await conn.closed;
    }
    await until(() => server.uploads.inFlight === 0, 'every slot is released');
    expect(await goodUpload(server.baseUrl)).toEqual({ status: 200, code: undefined });
  });

  it('a body trickling a byte per second is answered 408 ih4908 at uploadBodyTimeoutSeconds, however regular its bytes', async () => {
    const clock = new VirtualClock();
    const server = await startServer({ clock, processingRatio: 0, uploadIdleTimeoutSeconds: 4, uploadBodyTimeoutSeconds: 10, uploadConcurrency: 1 });
    const [conn] = await stalledUploads(server.baseUrl, 1);
    await until(() => server.uploads.inFlight === 1, 'the upload holds its slot');
    for (let second = 1; second < 10; second++) {
      await conn!.write(mp4.subarray(20_000 + second, 20_001 + second));
      await clock.advance(1_000);
    }
    // Nine seconds of a byte a second: never idle for 4 s, not yet 10 s in.
    expect(conn!.received()).toBe('');
    await clock.advance(1_000);
    const body = expectV1Error(await conn!.answer, 408, 'ih4908', 'trickling upload');
    expect(body.message).toMatch(/not complete after 10 s \(uploadBodyTimeoutSeconds\)/);
    await conn!.closed;
    await until(() => server.uploads.inFlight === 0, 'the slot is released');
    expect(await goodUpload(server.baseUrl)).toEqual({ status: 200, code: undefined });
  });

  it('the deadline ends with the body: a slow upload that completes is analyzed, and no timer is left behind', async () => {
    const clock = new VirtualClock();
    const server = await startServer({ clock, processingRatio: 0, uploadIdleTimeoutSeconds: 4, uploadBodyTimeoutSeconds: 10 });
    const head = '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="call.mp4"\r\n\r\n';
    const tail = '\r\n--XYZ--\r\n';
    const conn = await openRaw(server.baseUrl);
    await conn.write(Buffer.concat([Buffer.from(uploadHead(head.length + mp4.length + tail.length) + head), mp4.subarray(0, 1000)]));
    await until(() => server.uploads.inFlight === 1, 'the upload holds its slot');
    await clock.advance(3_000);
    await conn.write(Buffer.concat([mp4.subarray(1000), Buffer.from(tail)]));
    expect((await conn.answer).status).toBe(200);
    expect(clock.pendingCount).toBe(0);
    conn.socket.destroy();
  });
});

/** Bad bytes at the WebSocket layer: the offending connection is closed with the RFC 6455 code, others carry on. */
import { connect as netConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { connect } from '../support/client.js';
import { startServer, useServers } from '../support/server.js';

useServers();

/** Open a raw TCP connection, complete the upgrade by hand, and return the socket. */
async function rawUpgrade(url: string): Promise<import('node:net').Socket> {
  const { hostname, port } = new URL(url);
  const socket = netConnect(Number(port), hostname);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    'GET /v1/stream/analyze HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer k\r\n\r\n',
  );
  await new Promise<void>((resolve) => socket.once('data', () => resolve())); // 101 + session.ready
  return socket;
}

/** Read the close frame the server sends: its status code. */
function closeCode(socket: import('node:net').Socket): Promise<number> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      // Walk the server's (unmasked) frames looking for a close frame (opcode 8).
      let i = 0;
      while (i + 2 <= buf.length) {
        const opcode = buf[i]! & 0x0f;
        let len = buf[i + 1]! & 0x7f;
        let off = i + 2;
        if (len === 126) {
          len = buf.readUInt16BE(off);
          off += 2;
        }
        if (off + len > buf.length) break;
        if (opcode === 8) return resolve(buf.readUInt16BE(off));
        i = off + len;
      }
    });
  });
}

describe('malformed WebSocket input', () => {
  it('closes with 1007 on a text frame that is not UTF-8, without disturbing another session', async () => {
    const server = await startServer({ timing: 'instant' });
    const bystander = await connect(server.streamUrl);
    await bystander.waitForType('session.ready');
    const bad = await connect(server.streamUrl);
    await bad.waitForType('session.ready');
    bad.ws.send(Buffer.from([0xff, 0xfe, 0xfd]), { binary: false });
    expect((await bad.closed).code).toBe(1007);
    bystander.sendJson({ include: [] });
    await bystander.waitForType('session.updated');
    expect(server.sessions.size).toBe(1);
  });

  it('closes with 1002 on an unmasked client frame and on a reserved opcode; the server keeps serving', async () => {
    const server = await startServer();
    for (const frame of [Buffer.from([0x81, 0x02, 0x68, 0x69]) /* unmasked text "hi" */, Buffer.from([0x83, 0x80, 1, 2, 3, 4]) /* opcode 3 */]) {
      const socket = await rawUpgrade(server.streamUrl);
      const code = closeCode(socket);
      socket.write(frame);
      expect(await code).toBe(1002);
      socket.destroy();
    }
    const client = await connect(server.streamUrl);
    await client.waitForType('session.ready');
  });

  it('closes with 1009 only above the WebSocket frame limit (oversized segments below it get ih6002)', async () => {
    const server = await startServer({ maxSegmentBytes: 1000, wsMaxPayloadBytes: 5000 });
    const client = await connect(server.streamUrl);
    await client.waitForType('session.ready');
    await client.sendBinary(new Uint8Array(4000));
    expect((await client.waitForType('error')).data.code).toBe('ih6002');
    await client.sendBinary(new Uint8Array(6000));
    expect((await client.closed).code).toBe(1009);
  });

  it("sizes the WebSocket frame limit from a scenario's larger segment limit", async () => {
    const server = await startServer({
      maxSegmentBytes: 1_000_000,
      scenario: { name: 'big-segments', limits: { max_segment_size_bytes: 30_000_000 } },
    });
    const client = await connect(server.streamUrl);
    const ready = await client.waitForType('session.ready');
    expect(ready.data.max_segment_size_bytes).toBe(30_000_000);
    await client.sendBinary(new Uint8Array(20_000_000)); // under the scenario's limit: read and judged, not cut
    expect((await client.waitForType('error')).data.code).toBe('ih5004');
    await client.sendBinary(new Uint8Array(31_000_000));
    expect((await client.waitForType('error', 2)).data.code).toBe('ih6002');
  });
});

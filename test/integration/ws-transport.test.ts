/**
 * The session transport over a real ws socket pair: the frames of one turn leave in one network
 * write (seen as one TCP read at the client), in order, and nothing sent before an abrupt
 * disconnect is lost.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { RealClock } from '../../server/clock.js';
import type { SessionTransport } from '../../server/stream/outbound.js';
import { wsTransport } from '../../server/stream/ws-transport.js';

interface Pair {
  transport: SessionTransport;
  /** The server side's net.Socket, observed (not replaced) to see what is waiting to be written. */
  serverSocket: Socket;
  messages: string[];
  closed: Promise<number>;
}

const servers: WebSocketServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    for (const c of s.clients) c.terminate();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function pair(): Promise<Pair> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  servers.push(wss);
  await new Promise((resolve) => wss.once('listening', resolve));
  const { port } = wss.address() as { port: number };
  const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
  const messages: string[] = [];
  client.on('message', (data) => messages.push(String(data)));
  await new Promise((resolve) => client.once('open', resolve));
  const closed = new Promise<number>((resolve) => client.once('close', resolve));
  const ws = await serverSide;
  return { transport: wsTransport(ws, new RealClock()), serverSocket: (ws as unknown as { _socket: Socket })._socket, messages, closed };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('wsTransport', () => {
  it('holds the frames of one turn for one write, then writes them at the end of the turn, in order', async () => {
    const { transport, serverSocket, messages } = await pair();
    for (let i = 0; i < 5; i++) transport.send(`frame ${i}`);
    // Nothing has gone to the kernel yet: all five frames (2-byte headers, unmasked) wait together.
    expect(serverSocket.writableCorked).toBe(1);
    expect(serverSocket.writableLength).toBe(5 * (2 + 'frame 0'.length));
    await new Promise((r) => setImmediate(r));
    expect(serverSocket.writableCorked).toBe(0);
    await until(() => messages.length === 5);
    expect(messages).toEqual(['frame 0', 'frame 1', 'frame 2', 'frame 3', 'frame 4']);
  });

  it('does not hold a frame past its turn', async () => {
    const { transport, messages } = await pair();
    transport.send('first');
    await until(() => messages.length === 1);
    expect(messages).toEqual(['first']);
    transport.send('second');
    await until(() => messages.length === 2);
    expect(messages).toEqual(['first', 'second']);
  });

  it('flushes what was sent before terminate(): the frames arrive, then the connection drops', async () => {
    const { transport, messages, closed } = await pair();
    transport.send('a');
    transport.send('b');
    transport.terminate();
    expect(await closed).toBe(1006);
    expect(messages).toEqual(['a', 'b']);
  });

  it('sends the close frame after the frames of its turn', async () => {
    const { transport, messages, closed } = await pair();
    transport.send('last words');
    transport.close(1000, 'done');
    expect(await closed).toBe(1000);
    expect(messages).toEqual(['last words']);
  });
});

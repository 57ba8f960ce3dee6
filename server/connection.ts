/**
 * Facts about the TCP connection under an HTTP request or a WebSocket, shared by the emulator and
 * the recording proxy.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';

/** Whether the client keeps its connection open after this exchange (HTTP/1.1 without Connection: close). */
export function keepsAlive(req: IncomingMessage): boolean {
  const connection = String(req.headers.connection ?? '').toLowerCase();
  return req.httpVersion === '1.1' ? !connection.split(',').some((t) => t.trim() === 'close') : connection.includes('keep-alive');
}

/** The net.Socket under a ws WebSocket (`_socket`, ws's long-standing handle); undefined if ws ever drops it. */
export function socketOf(ws: WebSocket): Socket | undefined {
  return (ws as unknown as { _socket?: Socket })._socket;
}

/**
 * A message from a socket set to `binaryType = 'fragments'` as one Buffer: text comes whole, binary
 * as ws's array of fragments, which this leaves empty. For a message's only listener, or the last: a
 * listener after this one would find the array empty. ws (8.23) makes a fresh array for each message
 * and drops the one it hands over, so emptying it is safe; the fragmented-message test in
 * stream-media.test.ts would catch a ws that reused it.
 *
 * Why: ws collects a message's fragments in an array it creates when the previous message ends. On
 * a connection that sends every few seconds, V8 has moved that array to its old generation by the
 * time the message arrives, and an old object pointing at a young one keeps it through every
 * young-generation collection (those take such pointers as roots) until the next mark-compact, even
 * once the old object is garbage. So every received binary message, and the socket's read buffer
 * under it, waited for a mark-compact, and their off-heap bytes started one every 0.4-0.5 s at 5,000
 * sessions. Emptying the array drops the pointer: a scavenge frees the message. Text messages still
 * wait (ws joins their fragments itself and never hands the array over); clients send few, small ones.
 */
export function takeMessage(data: RawData): Buffer {
  if (!Array.isArray(data)) return Buffer.isBuffer(data) ? data : Buffer.from(data);
  const bytes = data.length === 1 ? data[0]! : Buffer.concat(data);
  data.length = 0;
  return bytes;
}

/**
 * Hands `onMessage` each message `ws` receives as one Buffer: the way every WebSocket in ih-mock (the
 * emulator's, the recording proxy's both sides, the replay server's) takes its messages, through
 * `takeMessage`. Registers `ws`'s only 'message' listener (`removeAllListeners('message')` removes it).
 */
export function receiveMessages(ws: WebSocket, onMessage: (bytes: Buffer, isBinary: boolean) => void): void {
  ws.binaryType = 'fragments';
  ws.on('message', (data, isBinary) => onMessage(takeMessage(data), isBinary));
}

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

/** A ws message as one Buffer (ws hands over a Buffer, an ArrayBuffer or fragments). */
export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

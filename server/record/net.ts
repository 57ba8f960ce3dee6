/** Small pieces of plumbing the recording proxy and the replay server share. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocket } from 'ws';

/** Listen on `host:port` (0: a free port); resolves with the base URL. */
export async function listenOn(server: Server, host: string, port: number): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  return `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
}

/** Cut every WebSocket, stop listening, drop idle keep-alive connections. */
export async function shutDown(server: Server, sockets: Iterable<WebSocket>): Promise<void> {
  for (const ws of sockets) ws.terminate();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Requests still open (an answer held back on purpose, a client that never finished) are cut,
  // or close() would wait for them.
  server.closeAllConnections();
  await closed;
}

/** Start an in-process emulator for a test, on 127.0.0.1 port 0, and close it afterwards. */
import { afterEach } from 'vitest';
import { createMockServer, type MockServerOptions } from '../../server/app.js';
import { allClients } from './client.js';

type Started = Awaited<ReturnType<typeof createMockServer>>;
const started: Started[] = [];

/** An emulator with quiet logs, closed automatically after the test. */
export async function startServer(options: MockServerOptions = {}): Promise<Started> {
  const server = await createMockServer({ host: '127.0.0.1', logLevel: 'silent', strictEvents: true, ...options });
  started.push(server);
  return server;
}

/**
 * Register once per test file: after each test, every frame any client received must have been
 * valid against schemas/, then servers and clients are closed.
 */
export function useServers(): void {
  afterEach(async () => {
    const clients = allClients.splice(0);
    for (const c of clients) c.ws.terminate();
    await Promise.all(started.splice(0).map((s) => s.close()));
    for (const c of clients) c.assertAllFramesValid();
  });
}

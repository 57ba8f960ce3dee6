/**
 * The server tells its heap tuning (server/heap-tuning.ts) how many stream sessions are open, as
 * they open and end over real sockets. Thresholds are lowered here (a handful of sessions), and the
 * flags and thread priorities recorded instead of handed to V8 and the kernel: this test process is
 * not a serving one.
 */
import { describe, expect, it } from 'vitest';
import { ServingHeapTuning } from '../../server/heap-tuning.js';
import { connect, type TestClient } from '../support/client.js';
import { startServer, useServers } from '../support/server.js';

useServers();

describe('heap tuning by open sessions', () => {
  it('the flag is set as the third session opens and given back when fewer than two are left', async () => {
    const flags: string[] = [];
    const lowered: number[] = [];
    const tuning = new ServingHeapTuning({ execArgv: [], fromSessions: 3, belowSessions: 2, setFlags: (flag) => flags.push(flag), helperThreads: () => [101, 102], setThreadPriority: (id) => lowered.push(id) });
    const ended: Array<() => void> = [];
    const server = await startServer({ heapTuning: tuning, onSessionEnded: () => ended.shift()?.() });
    const open = async (): Promise<TestClient> => {
      const client = await connect(server.streamUrl);
      await client.waitForType('session.ready');
      return client;
    };
    const endOne = async (client: TestClient) => {
      const done = new Promise<void>((resolve) => ended.push(resolve));
      client.ws.close(1000);
      await done;
    };
    const [a, b] = [await open(), await open()];
    expect(flags).toEqual([]);
    expect(lowered).toEqual([]);
    const c = await open();
    expect(flags).toEqual(['--heap-growing-percent=200']);
    expect(lowered).toEqual([101, 102]);
    await endOne(a);
    expect(flags).toEqual(['--heap-growing-percent=200']);
    expect(tuning.active).toBe(true);
    await endOne(b);
    expect(flags).toEqual(['--heap-growing-percent=200', '--heap-growing-percent=0']);
    expect(tuning.active).toBe(false);
    await endOne(c);
    expect(flags).toHaveLength(2);
    // Lowered once, the first time: the priority is not given back (see heap-tuning.ts).
    const d = [await open(), await open(), await open()];
    expect(flags).toEqual(['--heap-growing-percent=200', '--heap-growing-percent=0', '--heap-growing-percent=200']);
    expect(lowered).toEqual([101, 102]);
    for (const client of d) await endOne(client);
  });

  it('the crowded factor takes over as the fourth session opens and the first comes back when three are left', async () => {
    const flags: string[] = [];
    const tuning = new ServingHeapTuning({ execArgv: [], fromSessions: 2, belowSessions: 1, crowdedFromSessions: 4, crowdedBelowSessions: 4, setFlags: (flag) => flags.push(flag), helperThreads: () => [] });
    const ended: Array<() => void> = [];
    const server = await startServer({ heapTuning: tuning, onSessionEnded: () => ended.shift()?.() });
    const clients: TestClient[] = [];
    for (let i = 0; i < 4; i++) {
      const client = await connect(server.streamUrl);
      await client.waitForType('session.ready');
      clients.push(client);
    }
    expect(flags).toEqual(['--heap-growing-percent=200', '--heap-growing-percent=100']);
    const done = new Promise<void>((resolve) => ended.push(resolve));
    clients.pop()!.ws.close(1000);
    await done;
    expect(flags).toEqual(['--heap-growing-percent=200', '--heap-growing-percent=100', '--heap-growing-percent=200']);
    expect(tuning.active).toBe(true);
  });

  it('a flag V8 refuses leaves sessions opening and ending as usual', async () => {
    const tuning = new ServingHeapTuning({ execArgv: [], fromSessions: 1, belowSessions: 1, helperThreads: () => [], setFlags: () => {
      throw new Error('refused');
    } });
    let ended = 0;
    const server = await startServer({ heapTuning: tuning, onSessionEnded: () => void ended++ });
    const client = await connect(server.streamUrl);
    await client.waitForType('session.ready');
    client.sendJson({ include: [] });
    await client.waitForType('session.updated');
    client.ws.close(1000);
    expect((await client.closed).code).toBe(1000);
    await server.close();
    expect(ended).toBe(1);
    expect(tuning.active).toBe(false);
  });
});

/**
 * Who may use the admin API (docs/control-plane.md#who-may-use-it), over real sockets: a loopback
 * client of a loopback-bound server needs no token; a server bound to 0.0.0.0 refuses the admin API
 * without --admin-token (403) and asks for the token with it (401), also from a non-loopback address
 * of this machine; the v1 API and /metrics are not affected.
 */
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { adminGet } from '../support/admin.js';
import { startServer, useServers } from '../support/server.js';

useServers();

/** A non-loopback IPv4 address of this machine, if it has one. */
const externalAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;

const portOf = (baseUrl: string) => new URL(baseUrl).port;

describe('admin API access', () => {
  it('answers a loopback client of a server bound to 127.0.0.1 or another loopback address (127.0.0.2) without a token', async () => {
    for (const host of ['127.0.0.1', '127.0.0.2']) {
      const server = await startServer({ host });
      const status = await adminGet(server.baseUrl, '/__ih/', { schema: 'AdminStatus' });
      expect(status.status, host).toBe(200);
      expect(status.body.admin_auth).toBe('loopback');
    }
  });

  it('is disabled on a server bound to 0.0.0.0 without --admin-token, even for a loopback client; the v1 API and /metrics still answer', async () => {
    const server = await startServer({ host: '0.0.0.0' });
    const base = `http://127.0.0.1:${portOf(server.baseUrl)}`;
    for (const path of ['/__ih/', '/__ih/sessions', '/__ih/journal', '/__ih/nothing']) {
      const refused = await adminGet(base, path);
      expect(refused.status, path).toBe(403);
      expect(refused.body.error_id).toBe('ihm2003');
      expect(refused.body.message).toMatch(/listens on 0\.0\.0\.0, not a loopback address, and was started without --admin-token/);
    }
    // A token is no use when none is configured.
    expect((await adminGet(base, '/__ih/', { token: 'guessed-token' })).status).toBe(403);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });

  const askedForToken = async (base: string, token: string) => {
    const missing = await adminGet(base, '/__ih/sessions');
    expect(missing.status, base).toBe(401);
    expect(missing.body.error_id).toBe('ihm2002');
    expect(missing.body.message).toMatch(/X-IH-Admin-Token/);
    const wrong = await adminGet(base, '/__ih/sessions', { token: `${token}-wrong` });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error_id).toBe('ihm2001');
    // The token travels in its own header only: an Authorization header (where clients put their API key) is not read as one.
    expect((await adminGet(base, '/__ih/sessions', { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);
    const ok = await adminGet(base, '/__ih/', { token, schema: 'AdminStatus' });
    expect(ok.status).toBe(200);
    expect(ok.body.admin_auth).toBe('token');
    for (const answer of [missing, wrong, ok]) expect(JSON.stringify(answer.body)).not.toContain(token);
  };

  it('asks for the token on a server bound to 0.0.0.0 with --admin-token, also from a loopback client: 401 without it or with a wrong one', async () => {
    const server = await startServer({ host: '0.0.0.0', adminToken: 'admin-token-for-tests' });
    await askedForToken(`http://127.0.0.1:${portOf(server.baseUrl)}`, 'admin-token-for-tests');
  });

  it.runIf(externalAddress !== undefined)('asks for the token from a non-loopback address of this machine', async () => {
    const server = await startServer({ host: '0.0.0.0', adminToken: 'admin-token-for-tests' });
    await askedForToken(`http://${externalAddress}:${portOf(server.baseUrl)}`, 'admin-token-for-tests');
  });

  it('checks a token sent to a loopback server that has one configured: a wrong one is refused even from loopback', async () => {
    const server = await startServer({ adminToken: 'admin-token-for-tests' });
    expect((await adminGet(server.baseUrl, '/__ih/')).status).toBe(200);
    expect((await adminGet(server.baseUrl, '/__ih/', { token: 'admin-token-for-tests' })).status).toBe(200);
    const wrong = await adminGet(server.baseUrl, '/__ih/', { token: 'not-the-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error_id).toBe('ihm2001');
  });
});

import { describe, expect, it } from 'vitest';
import { AdminError } from './errors.js';
import { adminAccess, AdminGuard, isLoopbackAddress } from './guard.js';

const codeOf = (f: () => void): string | null => {
  try {
    f();
    return null;
  } catch (err) {
    if (err instanceof AdminError) return err.code;
    throw err;
  }
};

describe('isLoopbackAddress', () => {
  it('knows 127.0.0.0/8, ::1 in its spellings, IPv4-mapped loopback and localhost; nothing else', () => {
    for (const a of ['127.0.0.1', '127.0.0.2', '127.255.255.254', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['0.0.0.0', '::', '192.0.2.2', '10.0.0.1', '::ffff:10.0.0.1', 'fe80::1', '128.0.0.1', 'example.com', '', '127.0.0.1.nip.io']) expect(isLoopbackAddress(a), a).toBe(false);
  });
});

describe('AdminGuard', () => {
  const none = {};
  const withToken = (t: string) => ({ 'x-ih-admin-token': t });

  it('lets a loopback client of a loopback-bound server in without a token; the remote address is checked too', () => {
    const guard = new AdminGuard('127.0.0.1', null);
    expect(codeOf(() => guard.check('127.0.0.1', none))).toBeNull();
    expect(codeOf(() => guard.check('::ffff:127.0.0.1', none))).toBeNull();
    // A request that arrives from elsewhere (say, relayed) is not let in because the bind address is loopback.
    expect(codeOf(() => guard.check('192.0.2.7', none))).toBe('ihm2003');
    expect(codeOf(() => guard.check(undefined, none))).toBe('ihm2003');
  });

  it('disables the admin API on a non-loopback bind without a token, for every client', () => {
    for (const bind of ['0.0.0.0', '::', '192.0.2.2']) {
      const guard = new AdminGuard(bind, null);
      expect(guard.access).toBe('disabled');
      expect(codeOf(() => guard.check('127.0.0.1', none))).toBe('ihm2003');
      expect(codeOf(() => guard.check('192.0.2.7', withToken('anything')))).toBe('ihm2003');
    }
  });

  it('asks for the token on a non-loopback bind: 401 ihm2002 without it, ihm2001 when wrong', () => {
    const guard = new AdminGuard('0.0.0.0', 'the-admin-token');
    expect(guard.access).toBe('token');
    expect(codeOf(() => guard.check('127.0.0.1', none))).toBe('ihm2002');
    expect(codeOf(() => guard.check('192.0.2.7', withToken('the-admin-toke')))).toBe('ihm2001');
    expect(codeOf(() => guard.check('192.0.2.7', withToken('the-admin-token')))).toBeNull();
    expect(codeOf(() => guard.check('192.0.2.7', { authorization: 'Bearer the-admin-token' }))).toBe('ihm2002');
  });

  it('on a loopback bind with a token: loopback clients need none, a wrong one is still refused, others need it', () => {
    const guard = new AdminGuard('127.0.0.1', 'the-admin-token');
    expect(guard.access).toBe('loopback');
    expect(codeOf(() => guard.check('127.0.0.1', none))).toBeNull();
    expect(codeOf(() => guard.check('127.0.0.1', withToken('wrong')))).toBe('ihm2001');
    expect(codeOf(() => guard.check('192.0.2.7', none))).toBe('ihm2002');
    expect(adminAccess('localhost', null)).toBe('loopback');
  });

  it('serves the dashboard\'s files as the admin API is served, and to anyone where a token is configured (a browser cannot send a header with a page)', () => {
    const loopback = new AdminGuard('127.0.0.1', null);
    expect(codeOf(() => loopback.checkDashboardFiles('127.0.0.1'))).toBeNull();
    expect(codeOf(() => loopback.checkDashboardFiles('192.0.2.7'))).toBe('ihm2003');
    expect(codeOf(() => new AdminGuard('0.0.0.0', null).checkDashboardFiles('127.0.0.1'))).toBe('ihm2003');
    for (const bind of ['127.0.0.1', '0.0.0.0']) {
      const guarded = new AdminGuard(bind, 'dashboard-secret');
      expect(codeOf(() => guarded.checkDashboardFiles('192.0.2.7'))).toBeNull();
      // The data is not: the admin routes still need the token.
      expect(codeOf(() => guarded.check('192.0.2.7', {}))).toBe('ihm2002');
    }
  });
});


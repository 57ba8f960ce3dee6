import { describe, expect, it } from 'vitest';
import { Authenticator, SCOPE_STREAM, SCOPE_UPLOAD, TokenStore } from '../auth.js';
import { VirtualClock } from '../clock.js';
import { Random } from '../random.js';
import { authenticateRequest } from './credentials.js';

describe('authenticateRequest', () => {
  const clock = new VirtualClock();
  const authenticator = new Authenticator({ apiKeys: ['ih_live_good'], keyPairs: [], tokens: new TokenStore({ clock, random: new Random(3), ttlSeconds: 60 }) });
  const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } });

  it('maps missing, bad and out-of-scope credentials to 401 ih2002, 401 ih2001 and 403 ih2003', () => {
    expect(authenticateRequest(authenticator, req(), SCOPE_UPLOAD)).toEqual({ ok: false, status: 401, code: 'ih2002' });
    expect(authenticateRequest(authenticator, req('Bearer ih_live_bad'), SCOPE_UPLOAD)).toEqual({ ok: false, status: 401, code: 'ih2001' });
    expect(authenticateRequest(authenticator, req('ih_live_good'), SCOPE_UPLOAD)).toEqual({ ok: false, status: 401, code: 'ih2001' });
    expect(authenticateRequest(authenticator, req('Bearer ih_live_good'), SCOPE_UPLOAD)).toMatchObject({ ok: true, principal: { kind: 'api-key' } });
    const streamOnly = authenticator.exchange('k', 's', [SCOPE_STREAM]);
    if (!streamOnly.ok) throw new Error('exchange refused');
    expect(authenticateRequest(authenticator, req(`Bearer ${streamOnly.accessToken}`), SCOPE_UPLOAD)).toEqual({ ok: false, status: 403, code: 'ih2003' });
    expect(authenticateRequest(authenticator, req(`Bearer ${streamOnly.accessToken}`), SCOPE_STREAM).ok).toBe(true);
    clock.tick(60_000);
    expect(authenticateRequest(authenticator, req(`Bearer ${streamOnly.accessToken}`), SCOPE_STREAM)).toEqual({ ok: false, status: 401, code: 'ih2001' });
  });
});

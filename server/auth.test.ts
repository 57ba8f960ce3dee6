import { describe, expect, it } from 'vitest';
import { Authenticator, MALFORMED, SCOPE_STREAM, SCOPE_UPLOAD, TokenStore, accountLabel, keyAccount, requireScope, type KeyPair } from './auth.js';
import { VirtualClock } from './clock.js';
import { Random } from './random.js';

function setup(opts: { apiKeys?: string[]; keyPairs?: KeyPair[]; ttlSeconds?: number; maxTokens?: number } = {}) {
  const clock = new VirtualClock();
  const tokens = new TokenStore({ clock, random: new Random(1), ttlSeconds: opts.ttlSeconds ?? 900, maxTokens: opts.maxTokens });
  const auth = new Authenticator({ apiKeys: opts.apiKeys ?? [], keyPairs: opts.keyPairs ?? [], tokens });
  return { clock, tokens, auth };
}

function issued(result: ReturnType<Authenticator['exchange']>): string {
  if (!result.ok) throw new Error(`exchange refused: ${result.code}`);
  return result.accessToken;
}

describe('Authenticator.check', () => {
  it('API keys: open mode accepts any non-empty key with both scopes; configured keys restrict', () => {
    const open = setup().auth;
    expect(open.check(undefined)).toEqual({ ok: false, code: 'ih2002' });
    expect(open.check('')).toEqual({ ok: false, code: 'ih2002' });
    expect(open.check(MALFORMED)).toEqual({ ok: false, code: 'ih2001' });
    const ok = open.check('ih_live_x');
    expect(ok.ok && [...ok.principal.scopes]).toEqual([SCOPE_UPLOAD, SCOPE_STREAM]);
    expect(ok.ok && ok.principal).toMatchObject({ kind: 'api-key', account: accountLabel('ih_live_x') });
    const closed = setup({ apiKeys: ['good'] }).auth;
    expect(closed.check('good').ok).toBe(true);
    expect(closed.check('bad')).toEqual({ ok: false, code: 'ih2001' });
  });

  it('tokens carry their scopes and the account of their key, until they expire on the clock', () => {
    const { auth, clock } = setup({ apiKeys: ['only'], ttlSeconds: 10 });
    const access = issued(auth.exchange('key_1', 's', [SCOPE_UPLOAD]));
    const checked = auth.check(access);
    expect(checked.ok && checked.principal).toMatchObject({ kind: 'access-token', account: keyAccount('key_1') });
    expect(checked.ok && [...checked.principal.scopes]).toEqual([SCOPE_UPLOAD]);
    clock.tick(9_999);
    expect(auth.check(access).ok).toBe(true);
    clock.tick(1);
    expect(auth.check(access)).toEqual({ ok: false, code: 'ih2001' });
  });

  it('a token-shaped credential that is unknown is refused even in open mode', () => {
    const { auth } = setup();
    expect(auth.check(`ihtok_${'a'.repeat(40)}`)).toEqual({ ok: false, code: 'ih2001' });
  });
});

describe('Authenticator.exchange', () => {
  const pairs: KeyPair[] = [
    { keyId: 'up', keySecret: 'su', scopes: [SCOPE_UPLOAD] },
    { keyId: 'all', keySecret: 'sa' },
  ];

  it('checks the pair (ih2001) and the scopes (ih2003) when pairs are configured', () => {
    const { auth } = setup({ keyPairs: pairs });
    expect(auth.exchange('up', 'wrong', undefined)).toMatchObject({ ok: false, code: 'ih2001' });
    expect(auth.exchange('nobody', 'su', undefined)).toMatchObject({ ok: false, code: 'ih2001' });
    expect(auth.exchange('up', 'su', [SCOPE_STREAM])).toMatchObject({ ok: false, code: 'ih2003' });
    expect(auth.exchange('up', 'su', undefined)).toMatchObject({ ok: true, scopes: [SCOPE_UPLOAD], expiresIn: 900 });
    expect(auth.exchange('all', 'sa', undefined)).toMatchObject({ ok: true, scopes: [SCOPE_UPLOAD, SCOPE_STREAM] });
  });

  it('accepts any non-empty pair with every scope when none are configured', () => {
    const { auth } = setup();
    expect(auth.openPairs).toBe(true);
    expect(auth.exchange('x', 'y', [SCOPE_STREAM, SCOPE_UPLOAD])).toMatchObject({ ok: true, scopes: [SCOPE_STREAM, SCOPE_UPLOAD] });
    expect(auth.exchange('x', '', undefined)).toMatchObject({ ok: false, code: 'ih2001' });
  });
});

describe('TokenStore', () => {
  it('issues distinct ihtok_ tokens, the same sequence for the same seed', () => {
    const a = setup().tokens;
    const b = setup().tokens;
    const scopes = new Set([SCOPE_UPLOAD] as const);
    const fromA = [a.issue('acct', scopes).token, a.issue('acct', scopes).token];
    expect(fromA[0]).toMatch(/^ihtok_[0-9a-f]{40}$/);
    expect(fromA[0]).not.toBe(fromA[1]);
    expect([b.issue('acct', scopes).token, b.issue('acct', scopes).token]).toEqual(fromA);
  });

  it('stays bounded: expired tokens are dropped when issuing, and the oldest go beyond maxTokens', () => {
    const { tokens, clock } = setup({ ttlSeconds: 60, maxTokens: 5 });
    const scopes = new Set([SCOPE_STREAM] as const);
    for (let i = 0; i < 4; i++) tokens.issue('acct', scopes);
    expect(tokens.size).toBe(4);
    clock.tick(60_000);
    tokens.issue('acct', scopes);
    expect(tokens.size).toBe(1);
    const first = tokens.issue('acct', scopes).token;
    for (let i = 0; i < 10; i++) tokens.issue('acct', scopes);
    expect(tokens.size).toBe(5);
    expect(tokens.lookup(first)).toBeUndefined();
  });
});

describe('requireScope', () => {
  it('is ih2003 without the scope', () => {
    const principal = { account: 'a', kind: 'access-token' as const, scopes: new Set([SCOPE_UPLOAD] as const) };
    expect(requireScope(principal, SCOPE_UPLOAD)).toEqual({ ok: true });
    expect(requireScope(principal, SCOPE_STREAM)).toEqual({ ok: false, code: 'ih2003' });
  });
});

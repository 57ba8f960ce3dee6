/**
 * Credentials: where a client may put them, and whether they are good (docs/protocol.md §1). One
 * `Authenticator` serves both transports: a credential is an API key (`apiKeys`, both scopes) or an
 * access token issued by the token exchange (`POST /v1/auth`, the scopes asked for). Credential
 * values never leave this module except as the opaque `Principal`, so nothing downstream can log them.
 *
 * Invariants: an expired or unknown access token is refused like any invalid credential (ih2001),
 * even in open mode; the token store only holds live tokens plus those not yet swept, and never
 * more than `maxTokens`; expiry follows the injected clock.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Clock } from './clock.js';
import type { ErrorCode } from './errors.js';
import type { Random } from './random.js';

export const SCOPE_UPLOAD = 'interhumanai.upload';
export const SCOPE_STREAM = 'interhumanai.stream';
export type Scope = typeof SCOPE_UPLOAD | typeof SCOPE_STREAM;

/** How a WebSocket client presented its credential (for logs; never the value). */
export type CredentialSource = 'authorization-header' | 'subprotocol' | 'subprotocol-pair' | 'none';

export interface PresentedCredential {
  source: CredentialSource;
  /** The credential, or undefined when none was presented. */
  value: string | undefined;
  /** Subprotocol the server must echo so browsers complete the handshake. */
  echoProtocol: string | undefined;
}

/**
 * Find the credential on an upgrade request: `Authorization: Bearer <c>`, a single
 * `Sec-WebSocket-Protocol: <c>`, or the pair `Sec-WebSocket-Protocol: access_token, <c>`.
 */
export function credentialFromUpgrade(headers: IncomingHttpHeaders): PresentedCredential {
  const bearer = bearerToken(headers.authorization);
  const offered = offeredProtocols(headers['sec-websocket-protocol']);
  let fromProtocol: PresentedCredential | undefined;
  if (offered.length >= 2 && offered[0] === 'access_token') {
    fromProtocol = { source: 'subprotocol-pair', value: offered[1], echoProtocol: 'access_token' };
  } else if (offered.length === 1) {
    fromProtocol = { source: 'subprotocol', value: offered[0], echoProtocol: offered[0] };
  }
  if (bearer !== undefined) {
    // Still echo an offered subprotocol: a browser that offered one aborts if none comes back.
    return { source: 'authorization-header', value: bearer, echoProtocol: fromProtocol?.echoProtocol };
  }
  return fromProtocol ?? { source: 'none', value: undefined, echoProtocol: undefined };
}

/**
 * The subprotocols a `Sec-WebSocket-Protocol` header offers, in order. Empty list elements
 * (`, key`) are skipped, as RFC 9110 5.6.1 asks of recipients and as the Python websockets library
 * does; the app hands the WebSocket layer this same list, so both read the header alike.
 */
export function offeredProtocols(header: string | undefined): string[] {
  return (header ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/**
 * The credential of an `Authorization: Bearer …` header. A header without the `Bearer` scheme is a
 * client bug the live service refuses, so it yields `MALFORMED`, which no authenticator accepts.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const match = /^Bearer\s+(\S.*)$/i.exec(header.trim());
  return match ? match[1]!.trim() : MALFORMED;
}

/** Stands for a credential presented in a shape the service does not accept. */
export const MALFORMED = '\u0000malformed';

/** Who a good credential belongs to and what it may do. */
export interface Principal {
  /** A stable, non-secret label for logs and per-account limits. */
  readonly account: string;
  readonly scopes: ReadonlySet<Scope>;
  /** What kind of credential it was (for logs). */
  readonly kind: 'api-key' | 'access-token';
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; code: Extract<ErrorCode, 'ih2001' | 'ih2002'> };

/** Every scope, in the order `scope` strings list them. */
export const ALL_SCOPES: readonly Scope[] = [SCOPE_UPLOAD, SCOPE_STREAM];

/** Access tokens start with this, so an unknown or expired one is never mistaken for an API key in open mode. */
export const TOKEN_PREFIX = 'ihtok_';

/** Is this value shaped like an access token ih-mock issues? */
export function isAccessTokenShaped(credential: string): boolean {
  return credential.startsWith(TOKEN_PREFIX);
}

interface TokenRecord {
  readonly account: string;
  readonly scopes: ReadonlySet<Scope>;
  /** Clock time (ms) from which the token is refused. */
  readonly expiresAt: number;
}

export interface TokenStoreOptions {
  /** The server's clock: expiry is measured on it. */
  clock: Clock;
  /** Seeded generator the token values are drawn from. */
  random: Random;
  /** Lifetime of a token (`expires_in`), in seconds of `clock`. */
  ttlSeconds: number;
  /** Most tokens held at once; the oldest go first beyond it (default 100 000). */
  maxTokens?: number;
}

/**
 * Issued access tokens with their scopes and expiry. All tokens share one lifetime and the clock
 * only moves forward, so insertion order is expiry order: sweeping stops at the first live token.
 */
export class TokenStore {
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly maxTokens: number;

  constructor(private readonly options: TokenStoreOptions) {
    this.maxTokens = options.maxTokens ?? 100_000;
  }

  get ttlSeconds(): number {
    return this.options.ttlSeconds;
  }

  /** Tokens held (live, or expired and not yet swept). */
  get size(): number {
    return this.tokens.size;
  }

  /** Issue a token for `account` carrying `scopes`; expired tokens are dropped first. */
  issue(account: string, scopes: ReadonlySet<Scope>): { token: string; expiresIn: number } {
    const now = this.options.clock.now();
    this.sweep(now);
    while (this.tokens.size >= this.maxTokens) {
      const oldest = this.tokens.keys().next();
      if (oldest.done) break;
      this.tokens.delete(oldest.value);
    }
    let token = this.draw();
    while (this.tokens.has(token)) token = this.draw();
    this.tokens.set(token, { account, scopes: new Set(scopes), expiresAt: now + this.options.ttlSeconds * 1000 });
    return { token, expiresIn: this.options.ttlSeconds };
  }

  /** The live token's record, or undefined when it is unknown or expired (an expired one is dropped). */
  lookup(token: string): TokenRecord | undefined {
    const record = this.tokens.get(token);
    if (!record) return undefined;
    if (this.options.clock.now() >= record.expiresAt) {
      this.tokens.delete(token);
      return undefined;
    }
    return record;
  }

  private sweep(now: number): void {
    for (const [token, record] of this.tokens) {
      if (now < record.expiresAt) break;
      this.tokens.delete(token);
    }
  }

  /** `ihtok_` + 40 hex digits from the seeded generator: same seed, same tokens. */
  private draw(): string {
    let hex = '';
    for (let i = 0; i < 20; i++) hex += this.options.random.int(0, 255).toString(16).padStart(2, '0');
    return `${TOKEN_PREFIX}${hex}`;
  }
}

/** A key pair the token exchange accepts (the `keyPairs` option). */
export interface KeyPair {
  keyId: string;
  keySecret: string;
  /** Scopes the key may put in a token; default both. */
  scopes?: readonly Scope[];
}

export type ExchangeResult =
  | { ok: true; accessToken: string; expiresIn: number; scopes: readonly Scope[]; account: string }
  | { ok: false; code: Extract<ErrorCode, 'ih2001' | 'ih2003'>; message?: string };

export interface AuthenticatorOptions {
  /** Accepted API keys; empty = any non-empty credential (open mode). */
  apiKeys: readonly string[];
  /** Key pairs accepted by the token exchange; empty = any non-empty pair, with every scope. */
  keyPairs: readonly KeyPair[];
  tokens: TokenStore;
}

/**
 * Checks credentials on both transports and runs the token exchange. With no API keys configured,
 * any non-empty credential that is not shaped like an access token is accepted (with both scopes),
 * so `npx ih-mock` works with whatever key a client already has; likewise any key pair when none
 * are configured.
 */
export class Authenticator {
  private readonly keys: ReadonlySet<string>;
  private readonly pairs: ReadonlyMap<string, KeyPair>;
  readonly tokens: TokenStore;

  constructor(options: AuthenticatorOptions) {
    this.keys = new Set(options.apiKeys);
    this.pairs = new Map(options.keyPairs.map((p) => [p.keyId, p]));
    this.tokens = options.tokens;
  }

  /** True when any non-empty API key is accepted. */
  get open(): boolean {
    return this.keys.size === 0;
  }

  /** True when any non-empty key pair is accepted by the token exchange. */
  get openPairs(): boolean {
    return this.pairs.size === 0;
  }

  /** Whose credential this is and what it may do; ih2002 when absent, ih2001 when bad or expired. */
  check(credential: string | undefined): AuthResult {
    if (credential === undefined || credential === '') return { ok: false, code: 'ih2002' };
    if (credential === MALFORMED) return { ok: false, code: 'ih2001' };
    if (this.keys.has(credential)) return { ok: true, principal: apiKeyPrincipal(credential) };
    if (isAccessTokenShaped(credential)) {
      const record = this.tokens.lookup(credential);
      if (!record) return { ok: false, code: 'ih2001' };
      return { ok: true, principal: { account: record.account, scopes: record.scopes, kind: 'access-token' } };
    }
    if (this.open) return { ok: true, principal: apiKeyPrincipal(credential) };
    return { ok: false, code: 'ih2001' };
  }

  /**
   * The token exchange: a token for `keyId`/`keySecret` with `requested` scopes (omitted: every
   * scope the key has). A wrong pair is ih2001; a scope the key lacks is ih2003.
   */
  exchange(keyId: string, keySecret: string, requested: readonly Scope[] | undefined): ExchangeResult {
    let granted: readonly Scope[] = ALL_SCOPES;
    if (!this.openPairs) {
      const pair = this.pairs.get(keyId);
      if (!pair || pair.keySecret !== keySecret) return { ok: false, code: 'ih2001', message: 'Invalid key_id or key_secret.' };
      granted = pair.scopes ?? ALL_SCOPES;
    } else if (keyId === '' || keySecret === '') {
      return { ok: false, code: 'ih2001', message: 'Invalid key_id or key_secret.' };
    }
    const scopes = requested ?? ALL_SCOPES.filter((s) => granted.includes(s));
    const missing = scopes.filter((s) => !granted.includes(s));
    if (missing.length > 0) {
      return {
        ok: false,
        code: 'ih2003',
        message: `The key is not granted ${missing.join(' and ')}; it may request: ${granted.length ? granted.join(', ') : 'no scope'}.`,
      };
    }
    const account = keyAccount(keyId);
    const { token, expiresIn } = this.tokens.issue(account, new Set(scopes));
    return { ok: true, accessToken: token, expiresIn, scopes, account };
  }
}

export type ScopeResult = { ok: true } | { ok: false; code: Extract<ErrorCode, 'ih2003'> };

/** Does the principal carry `scope`? ih2003 when it does not. */
export function requireScope(principal: Principal, scope: Scope): ScopeResult {
  return principal.scopes.has(scope) ? { ok: true } : { ok: false, code: 'ih2003' };
}

function apiKeyPrincipal(credential: string): Principal {
  return { account: accountLabel(credential), scopes: new Set<Scope>(ALL_SCOPES), kind: 'api-key' };
}

/** The account label of a key pair (and of the tokens issued for it): per-account limits key on it. */
export function keyAccount(keyId: string): string {
  return accountLabel(`key:${keyId}`);
}

/** A short non-reversible label for a credential (FNV-1a), safe to log. */
export function accountLabel(credential: string): string {
  let h = 2166136261;
  for (let i = 0; i < credential.length; i++) h = Math.imul(h ^ credential.charCodeAt(i), 16777619);
  return `acct_${(h >>> 0).toString(16).padStart(8, '0')}`;
}

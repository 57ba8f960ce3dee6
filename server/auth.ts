/**
 * Credentials: where a client may put them, and whether they are good. Credential values never
 * leave this module except as the opaque `Principal`, so nothing downstream can log them.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ErrorCode } from './errors.js';

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
  const offered = (headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
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
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; code: Extract<ErrorCode, 'ih2001' | 'ih2002'> };

/**
 * Checks API keys. With none configured, any non-empty credential is accepted (with both scopes),
 * so `npx ih-mock` works with whatever key a client already has.
 */
export class Authenticator {
  private readonly keys: ReadonlySet<string>;

  constructor(apiKeys: readonly string[]) {
    this.keys = new Set(apiKeys);
  }

  /** True when any non-empty credential is accepted. */
  get open(): boolean {
    return this.keys.size === 0;
  }

  check(credential: string | undefined): AuthResult {
    if (credential === undefined || credential === '') return { ok: false, code: 'ih2002' };
    if (credential === MALFORMED) return { ok: false, code: 'ih2001' };
    if (!this.open && !this.keys.has(credential)) return { ok: false, code: 'ih2001' };
    return { ok: true, principal: { account: accountLabel(credential), scopes: new Set<Scope>([SCOPE_UPLOAD, SCOPE_STREAM]) } };
  }
}

/** A short non-reversible label for a credential (FNV-1a), safe to log. */
export function accountLabel(credential: string): string {
  let h = 2166136261;
  for (let i = 0; i < credential.length; i++) h = Math.imul(h ^ credential.charCodeAt(i), 16777619);
  return `acct_${(h >>> 0).toString(16).padStart(8, '0')}`;
}

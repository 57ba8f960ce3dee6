/**
 * Who may use the admin API (docs/control-plane.md#who-may-use-it). Without a token, only a loopback
 * client of a server bound to a loopback address: both are checked, because a server bound to
 * 0.0.0.0 also answers loopback clients, and a request relayed to it (a container's port mapping, a
 * proxy on the same machine) arrives from a loopback address while coming from elsewhere. Everything
 * else needs the admin token; with none configured, the admin API is disabled there.
 *
 * The token travels in `X-IH-Admin-Token` only, never in `Authorization`: clients often send their
 * API key there on every request, and it must not be mistaken for (or compared with) the admin token.
 *
 * Invariants: the token is compared in constant time and never logged or echoed; when one is
 * configured, a wrong one is refused even where none is needed (a client sending one expects it to
 * be checked).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { AdminError } from './errors.js';

export const ADMIN_TOKEN_HEADER_NAME = 'X-IH-Admin-Token';
const ADMIN_TOKEN_HEADER = 'x-ih-admin-token';

/** 127.0.0.0/8, ::1, their IPv4-mapped forms, and the name localhost. */
export function isLoopbackAddress(address: string): boolean {
  const host = address.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (host === 'localhost') return true;
  const v4 = host.startsWith('::ffff:') && isIP(host.slice(7)) === 4 ? host.slice(7) : host;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^0{0,4}(:0{0,4}){6}:0{0,3}1$/.test(host);
  return false;
}

/** How the admin API is reached on a server bound to `bindHost`: the start-up note and GET /__ih/ say it. */
export type AdminAccess = 'loopback' | 'token' | 'disabled';

export function adminAccess(bindHost: string, token: string | null): AdminAccess {
  if (isLoopbackAddress(bindHost)) return 'loopback';
  return token === null ? 'disabled' : 'token';
}

export class AdminGuard {
  private readonly digest: Buffer | null;
  readonly access: AdminAccess;

  constructor(
    private readonly bindHost: string,
    token: string | null,
  ) {
    this.digest = token === null ? null : sha256(token);
    this.access = adminAccess(bindHost, token);
  }

  /** Throws the AdminError a request from `remoteAddress` with these headers gets, or returns when it may go on. */
  check(remoteAddress: string | undefined, headers: IncomingHttpHeaders): void {
    const presented = presentedToken(headers);
    if (presented !== undefined && this.digest !== null) {
      if (!timingSafeEqual(sha256(presented), this.digest)) throw new AdminError('ihm2001');
      return;
    }
    if (isLoopbackAddress(this.bindHost) && remoteAddress !== undefined && isLoopbackAddress(remoteAddress)) return;
    if (this.digest === null) {
      throw new AdminError(
        'ihm2003',
        isLoopbackAddress(this.bindHost)
          ? 'The admin API answers loopback clients only, unless ih-mock is started with --admin-token.'
          : `The admin API is disabled: ih-mock listens on ${this.bindHost}, not a loopback address, and was started without --admin-token. Start it with --admin-token <secret> (or IH_ADMIN_TOKEN), or listen on 127.0.0.1.`,
      );
    }
    throw new AdminError('ihm2002');
  }

  /**
   * Throws the AdminError a request for the dashboard's files (admin/dashboard.ts) gets. A browser
   * cannot put a header on the page it navigates to, and the files hold no data (the page reads it
   * from the admin API with the token in its header): where a token is configured they are served to
   * anyone; elsewhere the loopback rule of `check` holds, and a disabled admin API has no dashboard.
   */
  checkDashboardFiles(remoteAddress: string | undefined): void {
    if (this.digest !== null) return;
    this.check(remoteAddress, {});
  }
}

/** The token in X-IH-Admin-Token; undefined when absent or empty. */
function presentedToken(headers: IncomingHttpHeaders): string | undefined {
  const header = headers[ADMIN_TOKEN_HEADER];
  return typeof header === 'string' && header !== '' ? header : undefined;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

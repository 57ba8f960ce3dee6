/**
 * Credentials on HTTP routes (docs/protocol.md §1, §2): `Authorization: Bearer <API key or access token>`,
 * checked by the same `Authenticator` as the stream upgrade. A route asks for the scope it needs:
 *
 * ```ts
 * const auth = authenticateRequest(authenticator, request, SCOPE_UPLOAD);
 * if (!auth.ok) return sendHttpError(reply, auth.code); // 401 ih2002 / 401 ih2001 / 403 ih2003
 * ```
 */
import type { IncomingHttpHeaders } from 'node:http';
import { bearerToken, requireScope, type Authenticator, type Principal, type Scope } from '../auth.js';

export type RequestAuth =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401; code: 'ih2001' | 'ih2002' }
  | { ok: false; status: 403; code: 'ih2003' };

/**
 * Who sent the request and whether they may use a `scope` endpoint: missing credential → 401
 * ih2002; bad, malformed (no `Bearer`) or expired → 401 ih2001; without `scope` → 403 ih2003.
 */
export function authenticateRequest(authenticator: Authenticator, request: { headers: IncomingHttpHeaders }, scope: Scope): RequestAuth {
  const auth = authenticator.check(bearerToken(request.headers.authorization));
  if (!auth.ok) return { ok: false, status: 401, code: auth.code };
  const scoped = requireScope(auth.principal, scope);
  if (!scoped.ok) return { ok: false, status: 403, code: scoped.code };
  return { ok: true, principal: auth.principal };
}

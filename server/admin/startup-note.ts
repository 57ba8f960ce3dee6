/** The lines `ih-mock serve` prints about the admin API and the metrics, under its readiness line. */
import type { ServerOptions } from '../options.js';
import { ADMIN_PREFIX } from './control-plane.js';
import { DASHBOARD_PATH } from './dashboard.js';
import { adminAccess, ADMIN_TOKEN_HEADER_NAME } from './guard.js';

export function adminStartupNote(baseUrl: string, options: ServerOptions): string[] {
  const access = adminAccess(options.host, options.adminToken);
  const admin =
    access === 'loopback' ? `  admin:    ${baseUrl}${ADMIN_PREFIX}/ (from this machine, no token; docs/control-plane.md)`
    : access === 'token' ? `  admin:    ${baseUrl}${ADMIN_PREFIX}/ (send ${ADMIN_TOKEN_HEADER_NAME}: <your --admin-token>)`
    : `  admin:    disabled: listening on ${options.host} (not loopback) without --admin-token; give one (or IH_ADMIN_TOKEN) to use ${ADMIN_PREFIX}/`;
  const dashboard =
    access === 'loopback' ? [`  dashboard: ${baseUrl}${DASHBOARD_PATH} (open it in a browser on this machine)`]
    : access === 'token' ? [`  dashboard: ${baseUrl}${DASHBOARD_PATH}#token=<your --admin-token> (the fragment never leaves the browser)`]
    : [];
  const journal = options.journalSize === 0 ? 'journal off (--journal-size 0)' : `journal of the last ${options.journalSize} entries`;
  return [admin, ...dashboard, `            ${journal}; metrics: ${baseUrl}/metrics`];
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT, SCHEMAS_DIR } from '../paths.js';
import { ADMIN_ERROR_CODES, ADMIN_ERROR_TABLE, adminErrorLink } from './errors.js';

describe('the admin error table', () => {
  it('equals the schema enum, and docs/control-plane.md explains every code under the heading its link names', () => {
    const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'admin.schema.json'), 'utf8')) as { $defs: { AdminErrorCode: { enum: string[] } } };
    expect(ADMIN_ERROR_CODES).toEqual(schema.$defs.AdminErrorCode.enum);
    const doc = readFileSync(join(PACKAGE_ROOT, 'docs', 'control-plane.md'), 'utf8');
    // GitHub-style anchors: the heading "### ihm4001 invalid-admin-request" is #ihm4001-invalid-admin-request.
    const anchors = [...doc.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-'));
    for (const code of ADMIN_ERROR_CODES) {
      const anchor = adminErrorLink(code).split('#')[1]!;
      expect(anchors, `a heading for ${code}`).toContain(anchor);
      expect(doc).toContain(`${ADMIN_ERROR_TABLE[code].http}`);
    }
  });
});

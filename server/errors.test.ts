import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ERROR_TABLE, errorLink, httpErrorBody } from './errors.js';
import { PACKAGE_ROOT } from './paths.js';

/** Rows of the error-code table in a page of docs/: code → cells. */
function documentedRows(page: string): Map<string, string[]> {
  const text = readFileSync(join(PACKAGE_ROOT, 'docs', page), 'utf8');
  const rows = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (/^ih\d{4}$/.test(cells[1] ?? '')) rows.set(cells[1]!, cells.slice(1, -1));
  }
  return rows;
}

/** A documented stream behaviour must say what the table does: close after the envelope, or stay open. */
function expectStreamBehaviour(code: string, behaviour: string | undefined): void {
  const spec = ERROR_TABLE[code as keyof typeof ERROR_TABLE];
  if (spec.ws === 'close') expect(behaviour, code).toMatch(/then close/);
  else if (spec.ws === 'error') expect(behaviour, code).toMatch(/session stays open/);
  else expect(behaviour, code).not.toMatch(/then close|stays open/);
}

describe('the error table', () => {
  it('docs/errors.md lists exactly the codes of the table', () => {
    expect([...documentedRows('errors.md').keys()].sort()).toEqual([...ERROR_CODES].sort());
  });

  it("docs/protocol.md lists exactly the live service's codes of the table (not ih-mock's own)", () => {
    const live = ERROR_CODES.filter((code) => !('ihMock' in ERROR_TABLE[code]));
    expect([...documentedRows('protocol.md').keys()].sort()).toEqual([...live].sort());
  });

  it('docs/errors.md agrees with the table on status, behaviour, close code and title', () => {
    for (const [code, cells] of documentedRows('errors.md')) {
      const spec = ERROR_TABLE[code as keyof typeof ERROR_TABLE];
      const [, http, behaviour, close, title] = cells;
      expect(http, code).toBe(spec.http === null ? '—' : String(spec.http));
      expect(title, code).toBe(spec.title);
      expectStreamBehaviour(code, behaviour);
      if (spec.ws === 'close') expect(close!.split(' ')[0], code).toBe(String(spec.closeCode));
    }
  });

  it('docs/protocol.md agrees with the table on status, stream behaviour and title', () => {
    for (const [code, cells] of documentedRows('protocol.md')) {
      const spec = ERROR_TABLE[code as keyof typeof ERROR_TABLE];
      const [, http, behaviour, title] = cells;
      expect(http, code).toBe(spec.http === null ? '—' : String(spec.http));
      expect(title, code).toBe(spec.title);
      expectStreamBehaviour(code, behaviour);
    }
  });

  it('codes are grouped by their first digit as the protocol defines', () => {
    for (const code of ERROR_CODES) {
      const spec = ERROR_TABLE[code];
      const category = Number(code[2]);
      if (category === 2 && spec.http !== null) expect([400, 401, 403]).toContain(spec.http);
      if (category === 3) expect(spec.http).toBe(429);
    }
  });

  it("ih-mock's own codes are ih49 + the status's last two digits, and docs/errors.md says whose they are", () => {
    const own = ERROR_CODES.filter((code) => 'ihMock' in ERROR_TABLE[code]);
    expect(own.length).toBeGreaterThan(0);
    const rows = documentedRows('errors.md');
    for (const code of ERROR_CODES) {
      const isOwn = own.includes(code);
      expect(rows.get(code)?.at(-1)?.startsWith("ih-mock's own"), code).toBe(isOwn);
      if (isOwn) expect(code, code).toBe(`ih49${String(ERROR_TABLE[code].http).slice(1)}`);
    }
  });

  it('links follow the live format', () => {
    expect(errorLink('ih6002')).toBe('https://docs.interhuman.ai/api-reference/error-handling#ih6002-message-too-large');
    expect(errorLink('ih2005')).toBe('https://docs.interhuman.ai/api-reference/error-handling#ih2005-missing-key-secret');
    expect(httpErrorBody('ih4007', 'cid')).toEqual({
      error_id: 'ih4007',
      correlation_id: 'cid',
      link: 'https://docs.interhuman.ai/api-reference/error-handling#ih4007-video-too-short',
      message: 'Video must be at least 3 seconds.',
    });
  });
});

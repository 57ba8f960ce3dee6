import { describe, expect, it } from 'vitest';
import { checkTestId } from '../admin/test-scope.js';
import { testIdFor } from './harness.js';

describe('testIdFor', () => {
  it('names a test by its describe blocks and name, numbered, as a test id the control plane accepts', () => {
    expect(testIdFor({ path: ['checkout', 'retries on 429'] }, 3)).toBe('3:checkout > retries on 429');
    const odd = testIdFor({ path: ['é → ü', `tab\there ${'x'.repeat(300)} `] }, 12);
    expect(odd.startsWith('12:_ _ _ > tab_here xxx')).toBe(true);
    expect(odd).toHaveLength(200);
    for (const id of [odd, testIdFor({ path: ['   '] }, 1), testIdFor({ path: [''] }, 1)]) expect(checkTestId(id)).toBe(id);
  });
});

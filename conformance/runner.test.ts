/** The order cases start in when several run at once. */
import { describe, expect, it } from 'vitest';
import { CASES, selectCases } from './cases.js';
import { scriptedWaitMs, startOrder } from './runner.js';

describe('startOrder', () => {
  it('starts the cases with the longest scripted waits first, the others in catalogue order', () => {
    // An 8-s first window, a 5-s answer, Retry-After 2 and 1, and the second a client waits before it uploads again after a cut.
    const longest = ['6.3', '8.2', '8.5', '8.4', '8.7'];
    expect(longest.map((id) => scriptedWaitMs(selectCases([id])[0]!))).toEqual([8000, 5000, 2000, 1000, 1000]);
    const order = startOrder(CASES).map((c) => c.id);
    expect(order.slice(0, longest.length)).toEqual(longest);
    expect(order.slice(longest.length)).toEqual(CASES.map((c) => c.id).filter((id) => !longest.includes(id)));
  });
});

import { describe, expect, it } from 'vitest';
import { takeMessage } from './connection.js';

describe('ws messages as one Buffer', () => {
  it('joins fragments and empties ws array, so an old array no longer points at the message', () => {
    const fragments = [Buffer.from('ab'), Buffer.from('cd')];
    expect(takeMessage(fragments).toString()).toBe('abcd');
    expect(fragments).toHaveLength(0);
    const single = [Buffer.from('whole')];
    const first = single[0]!;
    expect(takeMessage(single)).toBe(first); // one fragment is handed over as it is, not copied
    expect(single).toHaveLength(0);
    expect(takeMessage([])).toHaveLength(0); // an empty binary message: ws pushes no fragment
  });

  it('passes a whole (text) message through, and wraps an ArrayBuffer without copying it', () => {
    const buffer = Buffer.from('xyz');
    expect(takeMessage(buffer)).toBe(buffer);
    const arrayBuffer = new Uint8Array([1, 2]).buffer;
    const wrapped = takeMessage(arrayBuffer);
    expect(wrapped).toEqual(Buffer.from([1, 2]));
    expect(wrapped.buffer).toBe(arrayBuffer);
  });
});

import { describe, expect, it } from 'vitest';
import { encodeCursor, parseCursor } from './cursor.js';

describe('multi-channel cursor', () => {
  it('round-trips positions, empty ones included', () => {
    const positions = ['1700000000000-0', undefined, 'a1b2c3d4-17'];
    expect(parseCursor(encodeCursor(positions), 3)).toEqual(positions);
  });

  it('is the id itself for one channel', () => {
    expect(encodeCursor(['1700-3'])).toBe('1700-3');
    expect(parseCursor('1700-3', 1)).toEqual(['1700-3']);
  });

  it('does not fit a stream of another number of channels', () => {
    expect(parseCursor('1-0,2-0', 3)).toBeUndefined();
    expect(parseCursor('1-0', 2)).toBeUndefined();
  });
});

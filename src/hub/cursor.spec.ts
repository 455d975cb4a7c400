import { describe, expect, it } from 'vitest';
import { canonicalChannels, encodeCursor, parseCursor, START_POSITION } from './cursor.js';

describe('multi-channel cursor', () => {
  it('round-trips positions, empty ones included', () => {
    const positions = ['1700000000000-0', undefined, 'a1b2c3d4-17'];
    expect(parseCursor(encodeCursor(positions), 3)).toEqual(positions);
  });

  it('is the id itself for one channel, and a start marker before its first event', () => {
    expect(encodeCursor(['1700-3'])).toBe('1700-3');
    expect(parseCursor('1700-3', 1)).toEqual(['1700-3']);
    expect(encodeCursor([undefined])).toBe(START_POSITION);
    expect(parseCursor(START_POSITION, 1)).toEqual([undefined]);
  });

  it('does not fit a stream of another number of channels', () => {
    expect(parseCursor('1-0,2-0', 3)).toBeUndefined();
    expect(parseCursor('1-0', 2)).toBeUndefined();
    expect(parseCursor(START_POSITION, 2)).toBeUndefined();
  });

  it('orders channels one way whatever order they are listed in', () => {
    expect(canonicalChannels(['b', 'a', 'c'])).toEqual(canonicalChannels(['c', 'b', 'a']));
  });
});

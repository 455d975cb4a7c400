import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { serializeEvent } from './frame.js';
import { sentEvent } from './sent-event.js';
import type { SseEvent } from './sse-event.interface.js';

const oneLine = fc.string({ unit: 'binary' }).map((t) => t.replace(/[\r\n\0]/g, ''));
const event: fc.Arbitrary<SseEvent> = fc.record(
  {
    comment: fc.string({ unit: 'binary' }),
    type: oneLine,
    id: fc.oneof(oneLine, fc.integer()),
    retry: fc.nat(),
    // Not a Date (nor any toJSON() that gives a string): its copy is that string, sent bare.
    data: fc.oneof(fc.string({ unit: 'binary' }), fc.jsonValue()),
  },
  { requiredKeys: ['data'] },
);

describe('sentEvent', () => {
  it('holds exactly what the frame sends: serialized again, it gives the same frame', () => {
    fc.assert(
      fc.property(event, (input) => {
        const { event: copy, serialized } = sentEvent(input);
        expect(serialized).toBe(serializeEvent(input));
        expect(serializeEvent(copy)).toBe(serialized);
        if (copy.type !== undefined) expect(typeof copy.type).toBe('string');
        if (copy.id !== undefined) expect(typeof copy.id).toBe('string');
        if (typeof copy.data === 'string') expect(copy.data.isWellFormed()).toBe(true);
      }),
    );
  });

  it('never holds nor freezes the objects of the caller in id or type', () => {
    const cursor = { page: 1, toString: () => 'p1' };
    const name = { toString: () => 'tick' };
    const { event: copy } = sentEvent({ id: cursor, type: name, data: 'x' } as never);
    expect(copy).toEqual({ id: 'p1', type: 'tick', data: 'x' });
    expect(Object.isFrozen(cursor)).toBe(false);
    expect(Object.isFrozen(name)).toBe(false);
  });

  it('sends a Buffer id as its string', () => {
    const { event: copy, serialized } = sentEvent({ id: Buffer.from('abc') as never, data: 'x' });
    expect(copy.id).toBe('abc');
    expect(serialized).toBe('id: abc\ndata: x\n\n');
  });

  it('reads a data getter once, and copies no other property (private fields stay private)', () => {
    let reads = 0;
    class Tick {
      constructor(
        private readonly n: number,
        readonly secret = 'hidden',
      ) {}
      get data(): { n: number } {
        reads++;
        return { n: this.n };
      }
    }
    const { event: copy, serialized } = sentEvent(new Tick(5) as SseEvent);
    expect(copy).toStrictEqual({ data: { n: 5 } });
    expect(serialized).toBe('data: {"n":5}\n\n');
    expect(reads).toBe(1);
  });
});

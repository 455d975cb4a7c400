import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { serializeEvent } from '../wire/frame.js';
import { ownedEvent } from './owned-event.js';

describe('ownedEvent', () => {
  it('copies data as the JSON of its frame, and gives that frame', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            type: fc.string().map((t) => t.replace(/[\r\n]/g, '')),
            comment: fc.string(),
            retry: fc.nat(),
          },
          { requiredKeys: [] },
        ),
        fc.oneof(fc.jsonValue(), fc.string()),
        (rest, data) => {
          const input = { ...rest, data };
          const { event, serialized } = ownedEvent(input);
          expect(serialized).toBe(serializeEvent(input));
          expect(serializeEvent(event)).toBe(serialized);
          expect(event.data).toEqual(
            typeof data === 'string' ? data : JSON.parse(JSON.stringify(data)),
          );
        },
      ),
    );
  });

  it('shares nothing with the object it was given', () => {
    const data = { nested: { n: 1 } };
    const { event } = ownedEvent({ data });
    data.nested.n = 2;
    expect(event.data).toEqual({ nested: { n: 1 } });
  });

  it('holds the type as the string sent, never the object of the publisher (which is not frozen)', () => {
    const name = { toString: () => 'tick' };
    const { event, serialized } = ownedEvent({ type: name, data: { n: 1 } } as never);
    expect(event).toStrictEqual({ type: 'tick', data: { n: 1 } });
    expect(serialized).toBe('event: tick\ndata: {"n":1}\n\n');
    expect(Object.isFrozen(name)).toBe(false);
  });
});

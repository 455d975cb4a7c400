import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { preparedFrame } from '../wire/prepared-event.js';
import { serializeEvent } from '../wire/frame.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import { stampId, storedEvent } from './stored-event.js';

const text = fc.string({ unit: 'grapheme', maxLength: 20 });
const event: fc.Arbitrary<SseEvent> = fc.record(
  {
    comment: fc.oneof(text, fc.constant('data: x\nid: y')),
    type: text.map((t) => t.replace(/[\r\n]/g, '')),
    retry: fc.nat(),
    data: fc.oneof(text, fc.jsonValue(), fc.constant(':not a comment\n\ndata: x')),
  },
  { requiredKeys: [] },
);

describe('stampId', () => {
  it('writes the frame serializeEvent writes with the id', () => {
    fc.assert(
      fc.property(event, fc.stringMatching(/^[0-9a-f]{1,8}-\d{1,6}$/), (e, id) => {
        expect(stampId(serializeEvent(e), id)).toBe(serializeEvent({ ...e, id }));
      }),
    );
  });
});

describe('storedEvent', () => {
  it('owns a deep-frozen copy: mutating the publisher object changes nothing', () => {
    const data = { nested: { n: 1 }, list: [1] };
    const stored = storedEvent('c', 'e-1', { type: 't', data });
    data.nested.n = 2;
    data.list.push(2);
    expect(stored.data).toEqual({ nested: { n: 1 }, list: [1] });
    expect(Object.isFrozen((stored.data as typeof data).nested)).toBe(true);
    expect(preparedFrame(stored)!.payload.toString()).toBe(
      'event: t\nid: e-1\ndata: {"nested":{"n":1},"list":[1]}\n\n',
    );
  });
});

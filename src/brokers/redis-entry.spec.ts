import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ownedEvent } from '../hub/owned-event.js';
import { serializeEvent } from '../wire/frame.js';
import { preparedFrame } from '../wire/prepared-event.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import { decodeEntry, encodeEntry } from './redis-entry.js';
import { stampId, storedEvent } from './stored-event.js';

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('a\r\nb\rc\nd', '\ud800 lone', '"quoted"', 'data: x\n\nid: y', ''),
);
const date = fc.date({ noInvalidDate: true });
/** Whatever a publisher may put in `data`: strings, JSON, and values whose JSON is a string. */
const data = fc.oneof(
  text,
  fc.jsonValue(),
  date,
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.record({ at: date, list: fc.array(fc.oneof(date, text, fc.integer())) }),
  text.map((json) => ({ toJSON: () => json })),
);
const anyEvent: fc.Arbitrary<SseEvent> = fc
  .record(
    {
      comment: text,
      type: text.map((t) => t.replace(/[\r\n]/g, '')),
      retry: fc.nat(),
      data,
    },
    { requiredKeys: [] },
  )
  .filter((e) => e.comment !== undefined || e.retry !== undefined || e.data !== undefined);
const id = fc.stringMatching(/^\d{1,13}-\d{1,4}$/);

function frameOf(event: unknown): string {
  return preparedFrame(event)!.payload.toString();
}

describe('Redis entries', () => {
  it("give back the hub's frame and the memory broker's event", () => {
    fc.assert(
      fc.property(anyEvent, id, (input, eventId) => {
        const hub = ownedEvent(input);
        const fromRedis = decodeEntry('c', eventId, encodeEntry(hub.event, hub.serialized));
        const again = ownedEvent(input);
        const fromMemory = storedEvent('c', eventId, again.event, again.serialized);
        expect(frameOf(fromRedis)).toBe(stampId(hub.serialized, eventId));
        expect(fromRedis).toStrictEqual(fromMemory);
        expect(Object.isFrozen(fromRedis.data)).toBe(true);
      }),
    );
  });

  it('of an event published to the broker itself, hold what its frame sends', () => {
    fc.assert(
      fc.property(anyEvent, id, (input, eventId) => {
        const fromRedis = decodeEntry('c', eventId, encodeEntry(input));
        expect(frameOf(fromRedis)).toBe(serializeEvent({ ...input, id: eventId }));
        expect(fromRedis).toStrictEqual(storedEvent('c', eventId, input));
      }),
    );
  });

  it('keep the quotes of data whose JSON is a string: a Date is sent as JSON', () => {
    const at = new Date('2020-01-01T00:00:00.000Z');
    const hub = ownedEvent({ type: 'tick', data: at });
    const stored = decodeEntry('c', '1-0', encodeEntry(hub.event, hub.serialized));
    expect(frameOf(stored)).toBe('event: tick\nid: 1-0\ndata: "2020-01-01T00:00:00.000Z"\n\n');
    expect(stored.data).toBe('2020-01-01T00:00:00.000Z');
    const direct = decodeEntry('c', '1-0', encodeEntry({ type: 'tick', data: at }));
    expect(frameOf(direct)).toBe(frameOf(stored));
  });

  it("read the publisher's object once and keep none of it", () => {
    let reads = 0;
    const value = { n: 1 };
    const reading = {
      get data() {
        reads++;
        return value;
      },
    };
    const entry = encodeEntry(reading);
    value.n = 2;
    expect(reads).toBe(1);
    expect(decodeEntry('c', '1-0', entry).data).toEqual({ n: 1 });
  });

  it('are the JSON of the sent fields, data sent as JSON stored as that JSON, unescaped', () => {
    expect(encodeEntry({ type: 'price', retry: 5, data: { symbol: 'ACME' } })).toBe(
      '{"type":"price","retry":5,"json":{"symbol":"ACME"}}',
    );
    expect(encodeEntry({ data: new Date(0) })).toBe('{"json":"1970-01-01T00:00:00.000Z"}');
    expect(encodeEntry({ data: 'a "b"\nc' })).toBe('{"data":"a \\"b\\"\\nc"}');
    expect(encodeEntry({ id: 'mine', comment: 'hi' })).toBe('{"comment":"hi"}');
  });

  it('send the JSON text as stored, byte for byte, not a serialization of its parse', () => {
    expect(frameOf(decodeEntry('c', '1-0', '{"type":"t","json":{"a":1.0}}'))).toBe(
      'event: t\nid: 1-0\ndata: {"a":1.0}\n\n',
    );
  });

  it('of the previous format (the JSON of the event) are read as they were sent', () => {
    const stored = decodeEntry('c', '1-0', JSON.stringify({ type: 't', data: { n: 1 } }));
    expect(stored).toStrictEqual({ type: 't', data: { n: 1 }, id: '1-0', channel: 'c' });
    expect(frameOf(stored)).toBe('event: t\nid: 1-0\ndata: {"n":1}\n\n');
    const plain = decodeEntry('c', '2-0', JSON.stringify({ id: 'own', data: 'x' }));
    expect(plain).toStrictEqual({ data: 'x', id: '2-0', channel: 'c' });
    expect(frameOf(plain)).toBe('id: 2-0\ndata: x\n\n');
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { preparedFrame } from '../wire/prepared-event.js';
import { serializeEvent } from '../wire/frame.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import { stampId, storedEvent } from './stored-event.js';

const text = fc.string({ unit: 'grapheme', maxLength: 20 });
// Events that send something (serializeEvent refuses the others; a hub event has data).
const event: fc.Arbitrary<SseEvent> = fc
  .record(
    {
      comment: fc.oneof(text, fc.constant('data: x\nid: y')),
      type: text.map((t) => t.replace(/[\r\n]/g, '')),
      retry: fc.nat(),
      data: fc.oneof(text, fc.jsonValue(), fc.constant(':not a comment\n\ndata: x')),
    },
    { requiredKeys: [] },
  )
  .filter((e) => e.comment !== undefined || e.retry !== undefined || e.data !== undefined);

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

  it('copies what the frame sends and freezes only that: the publisher objects stay its own', () => {
    const name = { toString: () => 't' };
    class Reading {
      constructor(private readonly value: { n: number }) {}
      get data() {
        return this.value;
      }
      type = name;
    }
    const reading = new Reading({ n: 1 });
    const stored = storedEvent('c', 'e-1', reading as never);
    expect(stored).toStrictEqual({ type: 't', data: { n: 1 }, id: 'e-1', channel: 'c' });
    expect(Object.isFrozen(stored.data)).toBe(true);
    expect(Object.isFrozen(name)).toBe(false);
    expect(Object.isFrozen(reading)).toBe(false);
    expect(Object.isFrozen(reading.data)).toBe(false);
    expect(preparedFrame(stored)!.payload.toString()).toBe('event: t\nid: e-1\ndata: {"n":1}\n\n');
  });

  it('sends data whose JSON is a string (a Date) as that JSON, with its quotes', () => {
    const stored = storedEvent('c', 'e-3', { data: new Date(0) });
    expect(stored.data).toBe('1970-01-01T00:00:00.000Z');
    expect(preparedFrame(stored)!.payload.toString()).toBe(
      'id: e-3\ndata: "1970-01-01T00:00:00.000Z"\n\n',
    );
  });

  it("gives way to the broker's id: the event's own is not sent", () => {
    const stored = storedEvent('c', 'e-2', { id: 'mine', data: 'x' });
    expect(stored.id).toBe('e-2');
    expect(preparedFrame(stored)!.payload.toString()).toBe('id: e-2\ndata: x\n\n');
  });
});

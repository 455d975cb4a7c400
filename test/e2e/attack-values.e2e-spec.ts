import { describe, expect, it } from 'vitest';
import { prepareEvent, serializeEvent } from '../../src/index.js';
import { attackHarness, eventually, expectCleanFraming } from '../src/attack/attack-harness.js';
import { EXOTIC } from '../src/attack/exotic-values.js';
import { WireTap } from '../src/attack/wire-tap.js';

// Whatever a hostile or careless handler emits, the process stays up, the wire stays a
// well-framed event stream, and nothing is injected: a value that cannot be sent ends its own
// stream with stream-error; one that can is sent as the oracle parses it.

const harness = attackHarness();
const INTERNAL_ERROR = JSON.stringify({ statusCode: 500, message: 'Internal server error' });

describe('exotic values emitted after the stream opened', () => {
  it.each(Object.keys(EXOTIC))('%s', async (kind) => {
    const { port, registry } = await harness.start();
    const expected = EXOTIC[kind]!.expect;
    const tap = await harness.tap(port, WireTap.get(`/atk/value?kind=${kind}`, port));
    await tap.waitFor((t) => t.first?.complete === true, 'the end of the stream');
    expectCleanFraming(tap);
    const events = tap.first!.events.map(({ event, data, id }) => ({ event, data, id }));
    if (expected === 'stream-error') {
      expect(events).toEqual([
        { event: undefined, data: 'first', id: undefined },
        { event: 'stream-error', data: INTERNAL_ERROR, id: undefined },
      ]);
      expect(harness.logged).toHaveLength(1);
    } else {
      expect(events).toEqual([
        { event: undefined, data: 'first', id: undefined },
        { event: expected.event, data: expected.data, id: expected.id },
        { event: undefined, data: 'after', id: undefined },
      ]);
      expect(harness.logged).toEqual([]);
    }
    // Nothing injected: no field an attacker smuggled in became an event or an id.
    expect(JSON.stringify(events)).not.toContain('"event":"admin"');
    await eventually(() => registry.list().length === 0, 'the stream to be released');
  });
});

describe('exotic values as the first, synchronous emission', () => {
  it.each(Object.keys(EXOTIC))('%s', async (kind) => {
    const { port, registry } = await harness.start();
    const expected = EXOTIC[kind]!.expect;
    const tap = await harness.tap(port, WireTap.get(`/atk/value-first?kind=${kind}`, port));
    await tap.waitFor((t) => t.first?.complete === true, 'the response');
    expectCleanFraming(tap);
    if (expected === 'stream-error') {
      expect(tap.first!.status).toBe(500);
      expect(tap.first!.events).toEqual([]);
    } else {
      expect(tap.first!.status).toBe(200);
      expect(tap.first!.events.map(({ data }) => data)).toEqual([expected.data, 'after']);
    }
    await eventually(() => registry.list().length === 0, 'the stream to be released');
  });
});

describe('huge events', () => {
  it('an event larger than the budget, on a reading client, is cut as a slow client or sent whole', async () => {
    const { port, registry } = await harness.start();
    const tap = await harness.tap(port, WireTap.get('/atk/huge?bytes=4000000', port));
    await tap.closed.catch(() => undefined);
    await tap.waitFor((t) => t.isClosed || t.first?.complete === true, 'the end');
    expectCleanFraming(tap);
    const data = tap.first!.events.map((e) => e.data.length);
    // Either the whole event arrived (and then 'after'), or none of it: never a truncated one.
    if (data.length > 0) expect(data[0]).toBe(2_000_000);
    await eventually(() => registry.list().length === 0, 'the stream to be released');
  });
});

describe('prepareEvent of exotic inputs', () => {
  it('a class instance: the copy carries what was serialized', () => {
    class Priced {
      type = 'price';
      constructor(readonly data: { price: number }) {}
    }
    const prepared = prepareEvent(new Priced({ price: 1 }));
    expect(prepared).toEqual({ type: 'price', data: { price: 1 } });
    expect(Object.isFrozen(prepared.data)).toBe(true);
  });

  it('Map and Date data become what the client receives', () => {
    expect(prepareEvent({ data: new Map([['a', 1]]) }).data).toEqual({});
    expect(prepareEvent({ data: new Date(0) }).data).toBe('1970-01-01T00:00:00.000Z');
  });

  it('nested frozen data is accepted and copied', () => {
    const data = Object.freeze({ a: Object.freeze({ b: 1 }) });
    const prepared = prepareEvent({ data });
    expect(prepared.data).toEqual({ a: { b: 1 } });
    expect(prepared.data).not.toBe(data);
  });

  it('mutating the input after preparing does not change the prepared copy', () => {
    const data = { n: 1 };
    const event = { data };
    const prepared = prepareEvent(event);
    data.n = 2;
    event.data = { n: 3 };
    expect(prepared.data).toEqual({ n: 1 });
    expect(() => {
      (prepared as { data: unknown }).data = 'x';
    }).toThrow(TypeError);
  });

  it('unserializable data throws a named error at the call', () => {
    expect(() => prepareEvent({ data: { n: 1n } })).toThrow(/UnserializableEventData|serializ/i);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => prepareEvent({ data: cyclic })).toThrow();
    expect(() => prepareEvent({ data: 'x', id: 'a\nb' })).toThrow(/id/);
  });
});

// prepareEvent builds its copy from what it serialized, never from the caller's objects: an `id`
// object (a database cursor, an ObjectId-like value) or a `type` object stays the caller's and
// unfrozen, a Buffer id is sent as its string, and a `data` getter is what the copy holds.
describe("prepareEvent copies what it serialized: leaves the caller's id/type objects alone, accepts typed arrays, reads getters", () => {
  it('leaves an id object of the caller unfrozen', () => {
    const cursor = { page: 1, toString: () => 'p1' };
    prepareEvent({ id: cursor as unknown as string, data: 'x' });
    expect(Object.isFrozen(cursor)).toBe(false);
  });

  it('a class whose data is a getter: the prepared copy has the data it was sent with', () => {
    class Tick {
      constructor(private readonly n: number) {}
      get data(): number {
        return this.n;
      }
    }
    const prepared = prepareEvent(new Tick(5) as never) as { data?: unknown };
    expect(prepared.data).toBe(5);
    expect(prepared).not.toHaveProperty('n');
  });

  it('accepts an id that is a Buffer (stringified as the client sees it)', () => {
    const id = Buffer.from('abc');
    expect(() => prepareEvent({ id: id as unknown as string, data: 'x' })).not.toThrow();
  });
});

describe('serializeEvent is pure over exotic values', () => {
  it('throws for every stream-error value and never returns an empty frame', () => {
    for (const [kind, { make, expect: outcome }] of Object.entries(EXOTIC)) {
      if (outcome === 'stream-error') {
        expect(() => serializeEvent(make() as never), kind).toThrow();
      } else {
        expect(serializeEvent(make() as never).length, kind).toBeGreaterThan(0);
      }
    }
  });
});

import type { SseEvent } from '../../../src/index.js';

/**
 * What a hostile or careless handler may emit, by name, and what a client must see for it:
 * `events` (the event's `data`, as parsed) when it is a valid event, or `'stream-error'` when
 * the stream must end with the error event (and the process stay up).
 */
export interface ExoticValue {
  make: () => unknown;
  expect: { data: string; event?: string; id?: string } | 'stream-error';
}

class Row {
  constructor(readonly data: string) {}
}

class WithGetter {
  get data(): string {
    return 'from a getter';
  }
}

const cyclic = (): unknown => {
  const data: Record<string, unknown> = { a: 1 };
  data.self = data;
  return { data };
};

export const EXOTIC: Record<string, ExoticValue> = {
  'getter-throws': {
    make: () =>
      Object.defineProperty({}, 'data', {
        enumerable: true,
        get() {
          throw new Error('getter boom');
        },
      }),
    expect: 'stream-error',
  },
  'proxy-throws': {
    make: () =>
      new Proxy(
        {},
        {
          get() {
            throw new Error('proxy boom');
          },
        },
      ),
    expect: 'stream-error',
  },
  'proxy-has-throws': {
    make: () =>
      new Proxy(
        { data: 'x' },
        {
          getPrototypeOf() {
            throw new Error('proxy proto boom');
          },
          ownKeys() {
            throw new Error('proxy keys boom');
          },
        },
      ),
    expect: { data: 'x' },
  },
  'to-json-throws': {
    make: () => ({
      data: {
        toJSON() {
          throw new Error('toJSON boom');
        },
      },
    }),
    expect: 'stream-error',
  },
  'to-json-undefined': {
    make: () => ({ data: { toJSON: () => undefined } }),
    expect: 'stream-error',
  },
  bigint: { make: () => ({ data: { n: 10n } }), expect: 'stream-error' },
  'bigint-top': { make: () => ({ data: 10n }), expect: 'stream-error' },
  cyclic: { make: cyclic, expect: 'stream-error' },
  'symbol-data': { make: () => ({ data: Symbol('s') }), expect: 'stream-error' },
  'function-data': { make: () => ({ data: () => 1 }), expect: 'stream-error' },
  'symbol-id': {
    make: () => ({ id: Symbol('s'), data: 'x' }),
    expect: { data: 'x', id: 'Symbol(s)' },
  },
  'symbol-type': {
    make: () => ({ type: Symbol('t'), data: 'x' }),
    expect: { data: 'x', event: 'Symbol(t)' },
  },
  'id-crlf': { make: () => ({ id: '1\r\ndata: injected', data: 'x' }), expect: 'stream-error' },
  'id-lone-cr': { make: () => ({ id: '1\rdata: injected', data: 'x' }), expect: 'stream-error' },
  'id-nul': { make: () => ({ id: 'a\0b', data: 'x' }), expect: 'stream-error' },
  'type-lf': { make: () => ({ type: 'a\ndata: injected', data: 'x' }), expect: 'stream-error' },
  'type-object-tostring-crlf': {
    make: () => ({ type: { toString: () => 'a\r\nid: 9' }, data: 'x' }),
    expect: 'stream-error',
  },
  'id-tostring-throws': {
    make: () => ({
      id: {
        toString() {
          throw new Error('toString boom');
        },
      },
      data: 'x',
    }),
    expect: 'stream-error',
  },
  'retry-nan': { make: () => ({ retry: Number.NaN, data: 'x' }), expect: 'stream-error' },
  'retry-negative': { make: () => ({ retry: -1, data: 'x' }), expect: 'stream-error' },
  'retry-fraction': { make: () => ({ retry: 1.5, data: 'x' }), expect: 'stream-error' },
  'retry-string': {
    make: () => ({ retry: '100\ndata: injected', data: 'x' }),
    expect: 'stream-error',
  },
  'retry-infinity': { make: () => ({ retry: Infinity, data: 'x' }), expect: 'stream-error' },
  'lone-surrogate-data': { make: () => ({ data: 'a\uD800b' }), expect: { data: 'a\uFFFDb' } },
  'lone-surrogate-id': {
    make: () => ({ id: '\uDC00', data: 'x' }),
    expect: { data: 'x', id: '\uFFFD' },
  },
  'lone-surrogate-json': {
    make: () => ({ data: { s: '\uD800' } }),
    expect: { data: '{"s":"\\ud800"}' },
  },
  'cr-data': { make: () => ({ data: 'a\rb\r\nc\nd' }), expect: { data: 'a\nb\nc\nd' } },
  'data-line-injection': {
    make: () => ({ data: 'x\n\nevent: admin\ndata: pwned' }),
    expect: { data: 'x\n\nevent: admin\ndata: pwned' },
  },
  'nul-data': { make: () => ({ data: 'a\0b' }), expect: { data: 'a\0b' } },
  'class-instance': { make: () => new Row('row data'), expect: { data: 'row data' } },
  'class-getter': { make: () => new WithGetter(), expect: { data: 'from a getter' } },
  'date-data': {
    make: () => ({ data: new Date(0) }),
    expect: { data: '"1970-01-01T00:00:00.000Z"' },
  },
  'map-data': { make: () => ({ data: new Map([['a', 1]]) }), expect: { data: '{}' } },
  'frozen-nested': {
    make: () => Object.freeze({ data: Object.freeze({ a: Object.freeze([1, 2]) }) }),
    expect: { data: '{"a":[1,2]}' },
  },
  'comment-object': { make: () => ({ comment: { toString: () => 'x' } }), expect: 'stream-error' },
  'comment-crlf': {
    make: () => ({ comment: 'a\r\ndata: injected', data: 'x' }),
    expect: { data: 'x' },
  },
  'data-null': { make: () => ({ data: null }), expect: { data: 'null' } },
  'empty-string-data': { make: () => ({ data: '' }), expect: { data: '' } },
};

/** A `data` string of `bytes` UTF-8 bytes, multi-byte characters included. */
export function hugeData(bytes: number): string {
  return 'é'.repeat(Math.floor(bytes / 2));
}

export type { SseEvent };

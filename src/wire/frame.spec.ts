import { createParser, type EventSourceMessage, type ParseError } from 'eventsource-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidEventFieldError } from '../errors/invalid-event-field.error.js';
import { InvalidStreamEventError } from '../errors/invalid-stream-event.error.js';
import { SseError } from '../errors/sse.error.js';
import { UnserializableEventDataError } from '../errors/unserializable-event-data.error.js';
import { serializeComment, serializeEvent, serializeRetry } from './frame.js';
import type { SseEvent } from './sse-event.interface.js';
import { WireFrame } from './wire-frame.js';

// eventsource-parser is the oracle: it implements the WHATWG event-stream parsing rules, so what
// it reads back from a frame is what a browser's EventSource dispatches.

interface Parsed {
  events: EventSourceMessage[];
  comments: string[];
  retries: number[];
  /** Unknown fields and invalid retries land here: it must stay empty for every frame we write. */
  errors: ParseError[];
}

/**
 * Reads `text` the way a browser does: UTF-8 bytes, decoded and parsed in arbitrary pieces (cut
 * anywhere, inside a CRLF or a multi-byte character too).
 */
function parse(text: string, cuts: readonly number[] = []): Parsed {
  const parsed: Parsed = { events: [], comments: [], retries: [], errors: [] };
  const parser = createParser({
    onEvent: (event) => parsed.events.push(event),
    onComment: (comment) => parsed.comments.push(comment),
    onRetry: (retry) => parsed.retries.push(retry),
    onError: (error) => parsed.errors.push(error),
  });
  const bytes = new TextEncoder().encode(text);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))];
  points.sort((a, b) => a - b);
  let from = 0;
  for (const to of [...points, bytes.length]) {
    const chunk = decoder.decode(bytes.subarray(from, to), { stream: true });
    if (chunk !== '') parser.feed(chunk);
    from = to;
  }
  const rest = decoder.decode();
  if (rest !== '') parser.feed(rest);
  return parsed;
}

/** What a client reads back from string data: CR and CRLF arrive as LF, lone surrogates as U+FFFD. */
function expectedText(data: string): string {
  return data.toWellFormed().replace(/\r\n?/g, '\n');
}

/** The lines a comment is sent as, each read back as one comment. */
function expectedCommentLines(comment: string): string[] {
  return comment.toWellFormed().split(/\r\n|\r|\n/);
}

/** eventsource-parser reports an empty `event:` as no name; browsers then dispatch `message`. */
function expectedType(type: string | undefined): string | undefined {
  return type === undefined || type === '' ? undefined : type.toWellFormed();
}

function expectedId(id: string | number | undefined): string | undefined {
  return id === undefined ? undefined : String(id).toWellFormed();
}

/** Runs `fn` and returns what it threw (or undefined), so assertions stay outside any catch. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

function expectFieldRefused(fn: () => unknown, field: 'type' | 'id' | 'retry' | 'comment'): void {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(InvalidEventFieldError);
  expect(error).toMatchObject({ field, code: 'SSE_INVALID_EVENT_FIELD' });
  expect((error as Error).message).toContain(`"${field}"`);
}

// ---- generators ----------------------------------------------------------------------------
// fast-check's default strings hold none of what breaks a frame, so these mix it in on purpose.

const LINE_BREAKS = ['\r', '\n', '\r\n', '\n\r', '\r\r', '\n\n', '\r\n\r\n'];

/** Pieces that are hostile to the event-stream grammar or to UTF-8. */
const hostile = fc.constantFrom(
  ...LINE_BREAKS,
  '\0',
  ':',
  ': ',
  ' ',
  '  ',
  '\t',
  'data:',
  'data: x',
  'event:',
  'id:',
  'retry:',
  'retry: 1',
  'é',
  'ß',
  '日本語',
  '\u2028',
  '\u0085',
  '\uFEFF',
  '😀',
  '👩‍💻',
  '\uD83D', // a high surrogate alone (or paired by luck with the next piece)
  '\uDE00', // a low surrogate alone
  '\uDC00x\uD800',
);

const piece = fc.oneof(
  { arbitrary: hostile, weight: 4 },
  { arbitrary: fc.string({ maxLength: 4 }), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 3 }), weight: 1 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 2 }), weight: 1 },
);

/** Any string, hostile pieces included, sometimes led by spaces, a colon or a line break. */
const anyText = fc
  .tuple(
    fc.constantFrom('', ' ', '  ', ':', '\n', '\r', '\r\n'),
    fc.array(piece, { maxLength: 12 }),
  )
  .map(([lead, pieces]) => lead + pieces.join(''));

/** Hostile strings that can stand on one line (valid event names). */
const oneLine = anyText.map((text) => text.replace(/[\r\n]/g, ''));

/** Valid ids: one line, no NUL. */
const idText = oneLine.map((text) => text.replaceAll('\0', ''));

/** A string with at least one CR or LF somewhere. */
const withLineBreak = fc
  .tuple(oneLine, fc.constantFrom('\r', '\n', '\r\n'), anyText)
  .map(([before, br, after]) => before + br + after);

/** An id made invalid by CR, LF or NUL. */
const invalidId = fc
  .tuple(idText, fc.constantFrom('\r', '\n', '\r\n', '\0'), anyText)
  .map(([before, bad, after]) => before + bad + after);

/** JSON has no -0 (`JSON.stringify(-0)` is `"0"`), so the generator does not offer one. */
function withoutMinusZero(value: fc.JsonValue): fc.JsonValue {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(withoutMinusZero);
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, fc.JsonValue> = {};
    for (const [key, entry] of Object.entries(value)) {
      // defineProperty keeps a generated `__proto__` key an own key, as JSON.parse makes it.
      Object.defineProperty(copy, key, {
        value: withoutMinusZero(entry as fc.JsonValue),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return copy;
  }
  return value;
}

/** JSON-able values whose keys and strings are hostile too. */
const jsonData = fc.jsonValue({ stringUnit: piece, maxDepth: 3 }).map(withoutMinusZero);

const validEvent: fc.Arbitrary<SseEvent> = fc
  .record(
    {
      type: oneLine,
      id: fc.oneof(idText, fc.integer()),
      retry: fc.maxSafeNat(),
      comment: anyText,
      data: fc.oneof(anyText, jsonData, fc.constant(undefined)),
    },
    { requiredKeys: [] },
  )
  .filter(sendsSomething);

/** An event with a field a client sees (its name alone is not one). */
function sendsSomething(event: SseEvent): boolean {
  return (
    event.data !== undefined ||
    event.id !== undefined ||
    event.retry !== undefined ||
    event.comment !== undefined
  );
}

/** Events that send nothing: no field, or a name and undefined data only. */
const emptyEvent: fc.Arbitrary<SseEvent> = fc.oneof(
  fc.constant({}),
  fc.constant({ data: undefined }),
  fc.record({ type: oneLine }),
  fc.record({ type: oneLine, data: fc.constant(undefined) }),
  fc.record({ id: fc.constant(undefined), retry: fc.constant(undefined) }),
);

/** Values a handler may emit by mistake, none of them an event. */
const notAnEvent: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(undefined, null, () => 'x', Symbol('s')),
  fc.integer(),
  fc.boolean(),
  fc.bigInt(),
  fc.string(),
  fc.array(fc.anything(), { maxLength: 3 }),
);

const cuts = fc.array(fc.nat(), { maxLength: 6 });

// ---- tests -----------------------------------------------------------------------------------

describe('serializeEvent', () => {
  describe('exact frames', () => {
    it('writes the documented example', () => {
      expect(serializeEvent({ type: 'message', id: '1', data: 'hello' })).toBe(
        'event: message\nid: 1\ndata: hello\n\n',
      );
    });

    it('writes one data line per line of a string, whatever the line terminator', () => {
      expect(serializeEvent({ data: 'a\r\nb\rc\nd' })).toBe(
        'data: a\ndata: b\ndata: c\ndata: d\n\n',
      );
    });

    it('writes an object as one line of JSON', () => {
      expect(serializeEvent({ data: { text: 'two\nlines', n: 1 } })).toBe(
        'data: {"text":"two\\nlines","n":1}\n\n',
      );
    });

    it('keeps the leading space of a value (only the one after the colon is syntax)', () => {
      const frame = serializeEvent({ type: ' spaced', id: ' 7', data: ' x' });
      expect(frame).toBe('event:  spaced\nid:  7\ndata:  x\n\n');
      expect(parse(frame).events).toEqual([{ event: ' spaced', id: ' 7', data: ' x' }]);
    });

    it('writes a numeric id as its decimal text', () => {
      expect(parse(serializeEvent({ id: 42, data: 'x' })).events).toEqual([
        { event: undefined, id: '42', data: 'x' },
      ]);
    });

    it('replaces lone surrogates with U+FFFD in data, type and id', () => {
      const frame = serializeEvent({ type: 'a\uD800', id: '\uDC00', data: 'x\uD83D' });
      expect(frame.isWellFormed()).toBe(true);
      expect(parse(frame).events).toEqual([{ event: 'a\uFFFD', id: '\uFFFD', data: 'x\uFFFD' }]);
    });
  });

  describe('data', () => {
    it('sends an empty string as an event with empty data', () => {
      const frame = serializeEvent({ data: '' });
      expect(frame).toBe('data: \n\n');
      expect(parse(frame).events).toEqual([{ event: undefined, id: undefined, data: '' }]);
    });

    it('refuses an event that sends nothing (no data, id, retry or comment), naming the rule', () => {
      fc.assert(
        fc.property(emptyEvent, (event) => {
          const error = thrownBy(() => serializeEvent(event));
          expect(error).toBeInstanceOf(InvalidStreamEventError);
          expect(error).toMatchObject({ code: 'SSE_INVALID_EVENT' });
          expect((error as Error).message).toContain('sends nothing a client sees');
        }),
      );
    });

    it('refuses every value that is not an event, with a named error', () => {
      fc.assert(
        fc.property(notAnEvent, (value) => {
          const error = thrownBy(() => serializeEvent(value as SseEvent));
          expect(error).toBeInstanceOf(InvalidStreamEventError);
          expect((error as Error).message).toContain('is not an event');
        }),
      );
    });

    it('never gives an empty frame: any value either serializes to bytes or throws an SseError', () => {
      fc.assert(
        fc.property(fc.oneof(fc.anything(), emptyEvent, validEvent, notAnEvent), (value) => {
          let frame = '';
          const error = thrownBy(() => (frame = serializeEvent(value as SseEvent)));
          expect(error === undefined ? frame.length > 0 : error instanceof SseError).toBe(true);
        }),
        { numRuns: 500 },
      );
    });

    it('writes no data line for undefined data, so nothing is dispatched', () => {
      const frame = serializeEvent({ type: 'x', id: '1', data: undefined });
      expect(frame.split('\n').some((line) => line.startsWith('data'))).toBe(false);
      const parsed = parse(frame);
      expect(parsed.events).toEqual([]);
      expect(parsed.errors).toEqual([]);
    });

    it('sends null, numbers and booleans as JSON', () => {
      const parsed = parse(
        [null, 0, -1.5, true, false, 'str'].map((data) => serializeEvent({ data })).join(''),
      );
      expect(parsed.events.map((event) => event.data)).toEqual([
        'null',
        '0',
        '-1.5',
        'true',
        'false',
        'str',
      ]);
    });

    it('reads back any string, with CR and CRLF as LF and lone surrogates as U+FFFD', () => {
      fc.assert(
        fc.property(anyText, cuts, (data, at) => {
          const frame = serializeEvent({ data });
          expect(frame.isWellFormed()).toBe(true);
          const parsed = parse(frame, at);
          expect(parsed.events).toEqual([
            { event: undefined, id: undefined, data: expectedText(data) },
          ]);
          expect(parsed.comments).toEqual([]);
          expect(parsed.retries).toEqual([]);
          expect(parsed.errors).toEqual([]);
        }),
        { numRuns: 500 },
      );
    });

    it('reads back any JSON-able value, as one data line', () => {
      fc.assert(
        fc.property(jsonData, cuts, (data, at) => {
          const frame = serializeEvent({ data });
          if (typeof data !== 'string') {
            // Split on LF only: JS's multiline `^` also matches after U+2028, which is no SSE line break.
            expect(frame.split('\n').filter((line) => line.startsWith('data:'))).toHaveLength(1);
          }
          const parsed = parse(frame, at);
          expect(parsed.events).toHaveLength(1);
          expect(parsed.errors).toEqual([]);
          const received =
            typeof data === 'string' ? parsed.events[0]!.data : JSON.parse(parsed.events[0]!.data);
          expect(received).toEqual(typeof data === 'string' ? expectedText(data) : data);
        }),
        { numRuns: 300 },
      );
    });

    it.each<[string, unknown]>([
      ['a BigInt', 10n],
      ['a BigInt inside an object', { big: 1n }],
      [
        'a cycle',
        (() => {
          const cyclic: Record<string, unknown> = { name: 'loop' };
          cyclic.self = cyclic;
          return cyclic;
        })(),
      ],
    ])('refuses %s with UnserializableEventDataError, keeping the cause', (_what, data) => {
      const error = thrownBy(() => serializeEvent({ data }));
      expect(error).toBeInstanceOf(UnserializableEventDataError);
      expect(error).toMatchObject({ code: 'SSE_UNSERIALIZABLE_DATA' });
      expect((error as Error).cause).toBeInstanceOf(TypeError);
    });

    it.each<[string, unknown]>([
      ['a function', () => 1],
      ['a symbol', Symbol('s')],
      ['a toJSON() that returns undefined', { toJSON: () => undefined }],
    ])('refuses %s, which JSON.stringify turns into nothing', (_what, data) => {
      const error = thrownBy(() => serializeEvent({ data }));
      expect(error).toBeInstanceOf(UnserializableEventDataError);
      expect(error).toMatchObject({ code: 'SSE_UNSERIALIZABLE_DATA' });
    });
  });

  describe('type', () => {
    it('round-trips any one-line name, and refuses any with CR or LF, naming the field', () => {
      fc.assert(
        fc.property(anyText, cuts, (type, at) => {
          if (/[\r\n]/.test(type)) {
            expectFieldRefused(() => serializeEvent({ type, data: 'x' }), 'type');
          } else {
            const parsed = parse(serializeEvent({ type, data: 'x' }), at);
            expect(parsed.events).toEqual([
              { event: expectedType(type), id: undefined, data: 'x' },
            ]);
            expect(parsed.errors).toEqual([]);
          }
        }),
        { numRuns: 300 },
      );
    });

    it('refuses every name with a line break instead of stripping it', () => {
      fc.assert(
        fc.property(withLineBreak, (type) => {
          expectFieldRefused(() => serializeEvent({ type, data: 'x' }), 'type');
          expectFieldRefused(() => serializeEvent({ type, comment: 'c' }), 'type');
        }),
      );
    });
  });

  describe('id', () => {
    it('round-trips any one-line id without NUL, and refuses the others, naming the field', () => {
      fc.assert(
        fc.property(anyText, cuts, (id, at) => {
          if (/[\r\n\0]/.test(id)) {
            expectFieldRefused(() => serializeEvent({ id, data: 'x' }), 'id');
          } else {
            const parsed = parse(serializeEvent({ id, data: 'x' }), at);
            expect(parsed.events).toEqual([{ event: undefined, id: expectedId(id), data: 'x' }]);
            expect(parsed.errors).toEqual([]);
          }
        }),
        { numRuns: 300 },
      );
    });

    it('refuses every id with CR, LF or NUL instead of stripping it', () => {
      fc.assert(
        fc.property(invalidId, (id) => {
          expectFieldRefused(() => serializeEvent({ id, data: 'x' }), 'id');
          expectFieldRefused(() => serializeEvent({ id }), 'id');
        }),
      );
    });

    it('sends an empty id, which resets the last event id', () => {
      expect(parse(serializeEvent({ id: '', data: 'x' })).events).toEqual([
        { event: undefined, id: '', data: 'x' },
      ]);
    });
  });

  describe('retry', () => {
    it('sends a retry field with the event', () => {
      const parsed = parse(serializeEvent({ retry: 1500, data: 'x' }));
      expect(parsed.retries).toEqual([1500]);
      expect(parsed.events).toEqual([{ event: undefined, id: undefined, data: 'x' }]);
    });

    it.each([-1, 0.5, -0.5, Number.NaN, Infinity, -Infinity, 2 ** 53, 1e21])(
      'refuses %s, naming the field',
      (retry) => {
        expectFieldRefused(() => serializeEvent({ retry, data: 'x' }), 'retry');
      },
    );
  });

  describe('many frames in one stream', () => {
    it('parse back to exactly the events given, in order, and nothing else', () => {
      fc.assert(
        fc.property(fc.array(validEvent, { maxLength: 25 }), cuts, (events, at) => {
          const parsed = parse(events.map((event) => serializeEvent(event)).join(''), at);

          const dispatched = events.filter((event) => event.data !== undefined);
          expect(parsed.events).toHaveLength(dispatched.length);
          parsed.events.forEach((received, index) => {
            const sent = dispatched[index]!;
            expect(received.event).toBe(expectedType(sent.type));
            // eventsource-parser reports the id of the event's own block only.
            expect(received.id).toBe(expectedId(sent.id));
            if (typeof sent.data === 'string') {
              expect(received.data).toBe(expectedText(sent.data));
            } else {
              expect(JSON.parse(received.data)).toEqual(sent.data);
            }
          });
          expect(parsed.retries).toEqual(
            events.filter((event) => event.retry !== undefined).map((event) => event.retry),
          );
          expect(parsed.comments).toEqual(
            events.flatMap((event) =>
              event.comment === undefined ? [] : expectedCommentLines(event.comment),
            ),
          );
          // No unknown field, no invalid retry: nothing but event/id/data/retry and comments.
          expect(parsed.errors).toEqual([]);
        }),
        { numRuns: 300 },
      );
    });
  });
});

describe('WireFrame', () => {
  it('refuses an empty frame: a zero-size chunk is the HTTP/1.1 last chunk', () => {
    expect(() => new WireFrame('')).toThrow(InvalidStreamEventError);
    expect(new WireFrame(':\n').chunk.toString()).toBe('2\r\n:\n\r\n');
  });
});

describe('serializeComment', () => {
  it('writes the documented example, and an empty comment as a bare colon', () => {
    expect(serializeComment('keep-alive')).toBe(': keep-alive\n');
    expect(serializeComment('')).toBe(':\n');
    expect(serializeComment('a\r\nb')).toBe(': a\n: b\n');
  });

  it('never produces an event, a field or a retry, whatever the text', () => {
    fc.assert(
      fc.property(anyText, cuts, (comment, at) => {
        const frame = serializeComment(comment);
        expect(frame.isWellFormed()).toBe(true);
        // Followed by a real event, to prove the comment left the parser in a clean state.
        const parsed = parse(frame + serializeEvent({ data: 'after' }), at);
        expect(parsed.comments).toEqual(expectedCommentLines(comment));
        expect(parsed.events).toEqual([{ event: undefined, id: undefined, data: 'after' }]);
        expect(parsed.retries).toEqual([]);
        expect(parsed.errors).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a comment that is not a string, naming the field', () => {
    for (const comment of <unknown[]>[5, null, { text: 'x' }, ['a'], true]) {
      expectFieldRefused(() => serializeComment(comment as unknown as string), 'comment');
      expectFieldRefused(
        () => serializeEvent({ comment: comment as unknown as string, data: 'x' }),
        'comment',
      );
    }
  });

  it('as the only field of an event, writes no blank line and dispatches nothing', () => {
    fc.assert(
      fc.property(anyText, (comment) => {
        const frame = serializeEvent({ comment });
        expect(frame).toBe(serializeComment(comment));
        expect(parse(frame).events).toEqual([]);
      }),
    );
  });
});

describe('serializeRetry', () => {
  it('writes the documented example', () => {
    expect(serializeRetry(3000)).toBe('retry: 3000\n');
  });

  it('accepts every non-negative safe integer, read back exactly', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(10_000), fc.maxSafeNat()), (retry) => {
        const parsed = parse(serializeRetry(retry));
        expect(parsed.retries).toEqual([retry]);
        expect(parsed.events).toEqual([]);
        expect(parsed.errors).toEqual([]);
      }),
    );
  });

  it('refuses negative, fractional, unsafe and non-finite numbers, naming the field', () => {
    const notAllowed = fc.oneof(
      fc.integer({ max: -1 }),
      fc.double().filter((n) => !(Number.isSafeInteger(n) && n >= 0)),
      fc.constantFrom(Number.NaN, Infinity, -Infinity, 2 ** 53, Number.MAX_VALUE, 0.1, -1e-9),
    );
    fc.assert(
      fc.property(notAllowed, (retry) => {
        expectFieldRefused(() => serializeRetry(retry), 'retry');
      }),
    );
  });
});

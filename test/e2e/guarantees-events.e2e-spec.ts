import type { INestApplication } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamRegistry } from '../../src/index.js';
import { openEventStream } from '../../src/testing/index.js';
import { RawEventStream } from '../src/production/raw-event-stream.js';
import { portOf } from '../src/production/production-app.js';
import { startGuaranteesApp } from '../src/guarantees/guarantees-app.js';

// Whatever a handler emits, the process stays up and the wire stays an event stream: a value
// that is not an event, or an event that sends nothing, ends its own stream with `stream-error`
// (logged, with a named error); a mutated object is sent as it is now; events produced before
// a synchronous error are delivered.

const INTERNAL_ERROR = JSON.stringify({ statusCode: 500, message: 'Internal server error' });

let running: INestApplication | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(): Promise<{ app: INestApplication; logged: string[] }> {
  const app = await startGuaranteesApp();
  running = app;
  const logged: string[] = [];
  vi.spyOn(app.get(StreamRegistry).logger, 'error').mockImplementation((message, stack) => {
    logged.push(`${String(message)}\n${String(stack)}`);
  });
  return { app, logged };
}

describe('a value that is not an event, emitted after the stream opened', () => {
  it.each([
    ['undefined', 'SSE_INVALID_EVENT', 'undefined is not an event'],
    ['null', 'SSE_INVALID_EVENT', 'null is not an event'],
    ['number', 'SSE_INVALID_EVENT', 'the number 42 is not an event'],
    ['string', 'SSE_INVALID_EVENT', 'a string is not an event'],
    ['array', 'SSE_INVALID_EVENT', 'an array is not an event'],
    ['function', 'SSE_INVALID_EVENT', 'a function is not an event'],
    ['empty', 'SSE_INVALID_EVENT', 'sends nothing a client sees'],
    ['data-undefined', 'SSE_INVALID_EVENT', 'sends nothing a client sees'],
    ['type-only', 'SSE_INVALID_EVENT', 'sends nothing a client sees'],
    ['comment-number', 'InvalidEventFieldError', 'Invalid event field "comment"'],
  ])(
    '(%s) ends that stream with stream-error, logged with a named error',
    async (kind, name, reason) => {
      const { app, logged } = await start();
      const stream = await openEventStream(app, { path: `/g/mistake?kind=${kind}` });
      expect(stream.status).toBe(200);
      await stream.waitForEnd();
      expect(stream.events.map(({ event, data }) => ({ event, data }))).toEqual([
        { event: undefined, data: 'first' },
        { event: 'stream-error', data: INTERNAL_ERROR },
      ]);
      expect(stream.endedByServer).toBe(true);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toContain('GuaranteesController.mistake');
      expect(logged[0]).toContain(reason);
      if (name === 'SSE_INVALID_EVENT') expect(logged[0]).toContain('InvalidStreamEventError');
      else expect(logged[0]).toContain(name);
      expect(app.get(StreamRegistry).stats()).toMatchObject({ open: 0, eventsWritten: 1 });
    },
  );

  it('never writes a zero-size chunk: the response ends once, with its own last chunk', async () => {
    const { app } = await start();
    const raw = await RawEventStream.open(portOf(app), '/g/mistake?kind=empty');
    raw.resume();
    await raw.waitFor((stream) => stream.bodyComplete, 'the last chunk');
    await raw.destroy();
    // The last chunk came after stream-error: had an empty event been written as a chunk of
    // size 0, the body would have ended before it.
    expect(raw.bodyComplete).toBe(true);
    expect(raw.events.map((event) => event.event ?? 'message')).toEqual([
      'message',
      'stream-error',
    ]);
  });

  it('as the very first emission (before the stream opened), goes to the exception filters', async () => {
    const { app } = await start();
    const stream = await openEventStream(app, { path: '/g/mistake-first?kind=undefined' });
    expect(stream.status).toBe(500);
    await stream.waitForEnd();
    expect(stream.events).toEqual([]);
  });
});

describe('objects the producer mutates and emits again', () => {
  it('scan with a mutable accumulator sends each value, not the first one three times', async () => {
    const { app } = await start();
    const stream = await openEventStream(app, { path: '/g/scan' });
    await stream.waitForEnd();
    expect(stream.events.map((event) => event.data)).toEqual([
      '0:value-0',
      '1:value-1',
      '2:value-2',
    ]);
  });

  it('a plain object mutated and re-emitted is sent as it is now', async () => {
    const { app } = await start();
    const stream = await openEventStream(app, { path: '/g/mutated' });
    await stream.waitForEnd();
    expect(stream.events.map((event) => event.data)).toEqual(['before', 'after']);
  });
});

describe('an Observable that emits synchronously, then errors', () => {
  it('delivers the events produced before the error, then stream-error, and ends', async () => {
    const { app, logged } = await start();
    const stream = await openEventStream(app, { path: '/g/sync-then-error' });
    expect(stream.status).toBe(200);
    await stream.waitForEnd();
    expect(stream.events.map(({ event, data }) => ({ event, data }))).toEqual([
      { event: undefined, data: 'a' },
      { event: undefined, data: 'b' },
      { event: 'stream-error', data: INTERNAL_ERROR },
    ]);
    expect(logged.join('\n')).toContain('the upstream failed');
  });
});

describe('HTTP/1.0', () => {
  it('does not announce keep-alive on a close-delimited response', async () => {
    const { app } = await start();
    const raw = await RawEventStream.open(portOf(app), '/g/scan', {}, '1.0');
    raw.resume();
    await raw.closed;
    expect(raw.status).toBe(200);
    expect(raw.headers.get('connection')).not.toBe('keep-alive');
    expect(raw.events.map((event) => event.data)).toEqual(['0:value-0', '1:value-1', '2:value-2']);
  });
});

import 'reflect-metadata';
import { type INestApplication, type Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { EventSource } from 'eventsource';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { within } from '../support/deadline.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamRegistry } from '../../src/index.js';
import { openEventStream, type TestEventStream } from '../../src/testing/index.js';
import { CustomErrorEventAppModule } from '../src/lifecycle/custom-error-event-app.module.js';
import { SECRET } from '../src/lifecycle/errors.controller.js';
import { LifecycleAppModule } from '../src/lifecycle/lifecycle-app.module.js';
import { LifecycleProbe } from '../src/lifecycle/lifecycle-probe.js';

const EVENT_STREAM = 'text/event-stream';
const INTERNAL_ERROR = { statusCode: 500, message: 'Internal server error' };

/** The application of the running test, closed after it unless the test closed it. */
let running: INestApplication | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(
  module: Type = LifecycleAppModule,
  { forceCloseConnections = false } = {},
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
  const app = moduleRef.createNestApplication({ logger: false, forceCloseConnections });
  running = app;
  await app.listen(0, '127.0.0.1');
  return app;
}

/** Asserts that nothing of an error's internals (its message, its stack) was sent. */
function expectNoInternals(raw: string): void {
  expect(raw).not.toContain('hunter2');
  expect(raw).not.toContain(SECRET);
  expect(raw).not.toMatch(/\bat\s+\S+\s+\(/);
  expect(raw).not.toMatch(/\.[cm]?[jt]s:\d+/);
  expect(raw).not.toContain('Error:');
}

/** The stream's events, then its end: what a browser would have dispatched, in order. */
async function eventsUntilEnd(stream: TestEventStream) {
  await stream.waitForEnd();
  return stream.events.map(({ event, id, data }) => ({ event, id, data }));
}

describe('a real EventSource client', () => {
  // When a fetch is aborted, Node's fetch (undici) opens a spare connection that it keeps idle for
  // 4 s, which app.close() would wait for; the stream itself is proven closed by its finalize.
  const options = { forceCloseConnections: true };

  it('receives named events with their ids, and its close() tears the stream down', async () => {
    const app = await start(LifecycleAppModule, options);
    const probe = app.get(LifecycleProbe);
    const source = new EventSource(`${await app.getUrl()}/events/ticks`);
    const received = await within(
      new Promise<Array<{ data: string; lastEventId: string }>>((resolve, reject) => {
        const events: Array<{ data: string; lastEventId: string }> = [];
        source.addEventListener('error', () => reject(new Error('EventSource error')));
        source.addEventListener('tick', (event) => {
          events.push({ data: event.data, lastEventId: event.lastEventId });
          if (events.length === 3) resolve(events);
        });
      }),
      2000,
      'three tick events',
    );
    expect(probe.finalized).toBe(0);
    source.close();
    expect(received).toEqual([
      { data: 'tick 0', lastEventId: '0' },
      { data: 'tick 1', lastEventId: '1' },
      { data: 'tick 2', lastEventId: '2' },
    ]);
    await within(probe.firstFinalize, 2000, "the stream's finalize");
    expect(probe).toMatchObject({ subscribed: 1, finalized: 1 });
  });

  it('opens at once on a stream that has sent nothing yet', async () => {
    const app = await start(LifecycleAppModule, options);
    const probe = app.get(LifecycleProbe);
    const source = new EventSource(`${await app.getUrl()}/events/silent`);
    await within(
      new Promise<void>((resolve, reject) => {
        source.addEventListener('error', () => reject(new Error('EventSource error')));
        source.addEventListener('open', () => resolve());
      }),
      2000,
      'the open event',
    );
    expect(source.readyState).toBe(EventSource.OPEN);
    source.close();
    await within(probe.firstFinalize, 2000, "the stream's finalize");
    expect(probe).toMatchObject({ subscribed: 1, finalized: 1 });
  });
});

describe('disconnect and completion', () => {
  it("unsubscribes at once when the client disconnects (the source's finalize runs)", async () => {
    const app = await start();
    const probe = app.get(LifecycleProbe);
    const stream = await openEventStream(app, { path: '/events/forever' });
    const [event] = await stream.take(1);
    expect(event?.data).toBe('open');
    expect(probe).toMatchObject({ subscribed: 1, finalized: 0 });
    await stream.close();
    await within(probe.firstFinalize, 2000, "the stream's finalize");
    expect(probe).toMatchObject({ subscribed: 1, finalized: 1 });
  });

  it('does not subscribe the source of a client that left during an async setup', async () => {
    const app = await start();
    const probe = app.get(LifecycleProbe);
    const { port } = app.getHttpServer().address() as AddressInfo;
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/events/abandoned-setup',
      headers: { accept: EVENT_STREAM },
      agent: false,
    });
    req.once('error', () => undefined);
    req.end();
    await within(probe.firstSetup, 2000, 'the async setup to start');
    req.destroy();
    // The setup ends with the abort; closing the application waits on sockets, well after it.
    running = undefined;
    await app.close();
    expect(probe).toMatchObject({ subscribed: 0, finalized: 0 });
  });

  it('ends open streams when the application shuts down', async () => {
    const app = await start();
    const probe = app.get(LifecycleProbe);
    const stream = await openEventStream(app, { path: '/events/forever' });
    await stream.take(1);
    running = undefined;
    const closing = app.close();
    await stream.waitForEnd();
    await within(closing, 2000, 'app.close()');
    expect(stream.endedByServer).toBe(true);
    expect(probe).toMatchObject({ subscribed: 1, finalized: 1 });
  });

  it.each(['sync', 'open'])(
    'ends the response when the source unsubscribes its subscriber (%s)',
    async (when) => {
      const app = await start();
      const probe = app.get(LifecycleProbe);
      const stream = await openEventStream(app, { path: `/events/self-unsubscribing/${when}` });
      expect(stream.status).toBe(200);
      await stream.waitForEnd();
      expect(stream.endedByServer).toBe(true);
      expect(stream.events.map((event) => event.data)).toEqual(['before']);
      expect(probe).toMatchObject({ subscribed: 1, finalized: 1 });
    },
  );

  it('stops a synchronous producer as soon as the source completes while the stream opens', async () => {
    const app = await start();
    const probe = app.get(LifecycleProbe);
    const stream = await openEventStream(app, { path: '/events/take-of-endless' });
    await stream.waitForEnd();
    expect(stream.events.map((event) => event.data)).toEqual(['n0', 'n1', 'n2']);
    expect(probe.produced).toBe(3);
  });

  it('sends nothing from a source already stopped when it is subscribed', async () => {
    const app = await start();
    const stream = await openEventStream(app, { path: '/events/already-stopped' });
    expect(stream.status).toBe(200);
    await stream.waitForEnd();
    expect(stream.endedByServer).toBe(true);
    expect(stream.events).toEqual([]);
  });

  it('counts a stream closed even when its teardown throws, and keeps the shared source going', async () => {
    const app = await start();
    const registry = app.get(StreamRegistry);
    const probe = app.get(LifecycleProbe);
    const leaving = await openEventStream(app, { path: '/events/throwing-teardown' });
    const staying = await openEventStream(app, { path: '/events/throwing-teardown' });
    expect(registry.stats().open).toBe(2);

    await leaving.close();
    await vi.waitFor(() => expect(registry.stats().open).toBe(1), { timeout: 5000, interval: 5 });
    expect(registry.list()).toHaveLength(1);

    probe.shared.next({ data: 'still flowing' });
    await staying.waitFor((s) => s.events.length === 1, 'the event on the other stream');
    // The subject completes every stream, though each teardown throws.
    probe.shared.complete();
    await staying.waitForEnd();
    expect(staying.events.map((event) => event.data)).toEqual(['still flowing']);
    await vi.waitFor(() => expect(registry.stats().open).toBe(0), { timeout: 5000, interval: 5 });
  });

  it('ends the response when the source completes', async () => {
    const app = await start();
    const probe = app.get(LifecycleProbe);
    const stream = await openEventStream(app, { path: '/events/finite' });
    expect(stream.status).toBe(200);
    await stream.waitForEnd();
    expect(stream.endedByServer).toBe(true);
    expect(stream.events.map((event) => event.data)).toEqual(['n0', 'n1', 'n2']);
    expect(probe).toMatchObject({ subscribed: 1, finalized: 1 });
  });
});

describe('errors before the stream opens go through the exception filters', () => {
  it.each([
    { path: '/errors/thrown', status: 500, body: INTERNAL_ERROR },
    { path: '/errors/on-subscribe', status: 500, body: INTERNAL_ERROR },
    {
      path: '/errors/thrown-http',
      status: 409,
      body: { statusCode: 409, message: 'Already streaming to this client', error: 'Conflict' },
    },
    {
      path: '/errors/on-subscribe-http',
      status: 404,
      body: { statusCode: 404, message: 'No such feed', error: 'Not Found' },
    },
  ])('$path → $status JSON', async ({ path, status, body }) => {
    const app = await start();
    const stream = await openEventStream(app, { path });
    expect(stream.status).toBe(status);
    expect(stream.headers['content-type']).toMatch(/^application\/json/);
    await stream.waitForEnd();
    expect(JSON.parse(stream.raw)).toEqual(body);
    expect(stream.events).toEqual([]);
    expectNoInternals(stream.raw);
  });
});

describe('errors after the stream opened end it with a safe final event', () => {
  it('sends stream-error with a generic 500 for an unknown error, then ends', async () => {
    const app = await start();
    const stream = await openEventStream(app, { path: '/errors/after-open' });
    expect(stream.status).toBe(200);
    expect(await eventsUntilEnd(stream)).toEqual([
      { event: undefined, id: undefined, data: 'first' },
      { event: 'stream-error', id: undefined, data: JSON.stringify(INTERNAL_ERROR) },
    ]);
    expect(stream.endedByServer).toBe(true);
    expectNoInternals(stream.raw);
  });

  it('delivers what the source emitted synchronously before failing, then stream-error', async () => {
    // Once an event was produced, the stream opens for it: the error no longer reaches the
    // exception filters (it would lose the event, and answer a stream client with JSON).
    const app = await start();
    const stream = await openEventStream(app, { path: '/errors/on-subscribe-after-event' });
    expect(stream.status).toBe(200);
    expect(await eventsUntilEnd(stream)).toEqual([
      { event: undefined, id: undefined, data: 'premature' },
      { event: 'stream-error', id: undefined, data: JSON.stringify(INTERNAL_ERROR) },
    ]);
    expect(stream.endedByServer).toBe(true);
    expectNoInternals(stream.raw);
  });

  it("sends an HttpException's own status and message", async () => {
    const app = await start();
    const stream = await openEventStream(app, { path: '/errors/after-open-http' });
    const events = await eventsUntilEnd(stream);
    expect(events).toHaveLength(2);
    expect(events[1]?.event).toBe('stream-error');
    expect(JSON.parse(events[1]?.data ?? '')).toEqual({
      statusCode: 403,
      message: 'Subscription expired',
    });
    expectNoInternals(stream.raw);
  });

  it.each(['id-lf', 'id-cr', 'id-nul', 'type-lf'])(
    'refuses an event with an invalid field (%s) mid-stream, without writing any of it',
    async (field) => {
      const app = await start();
      const stream = await openEventStream(app, { path: `/errors/invalid-field?field=${field}` });
      expect(stream.status).toBe(200);
      expect(await eventsUntilEnd(stream)).toEqual([
        { event: undefined, id: '1', data: 'before' },
        { event: 'stream-error', id: undefined, data: JSON.stringify(INTERNAL_ERROR) },
      ]);
      expect(stream.raw).not.toContain('injected');
      expect(stream.raw).not.toMatch(/^event: (?!stream-error$)/m);
      expect(stream.raw).not.toContain('after');
    },
  );

  it('names the final event after the errorEvent option of forRoot()', async () => {
    const app = await start(CustomErrorEventAppModule);
    const stream = await openEventStream(app, { path: '/errors/after-open' });
    expect(await eventsUntilEnd(stream)).toEqual([
      { event: undefined, id: undefined, data: 'first' },
      { event: 'failure', id: undefined, data: JSON.stringify(INTERNAL_ERROR) },
    ]);
  });

  it.each([
    { module: LifecycleAppModule, name: 'the default' },
    { module: CustomErrorEventAppModule, name: 'forRoot({ errorEvent })' },
  ])("lets a route's errorEvent override $name", async ({ module }) => {
    const app = await start(module);
    const stream = await openEventStream(app, { path: '/errors/route-error-event' });
    const events = await eventsUntilEnd(stream);
    expect(events.map((event) => event.event)).toEqual([undefined, 'route-failure']);
  });
});

describe('headers', () => {
  it('are sent when the source is subscribed, before any event', async () => {
    const app = await start();
    // As a browser asks: the test client's connection of its own would otherwise send
    // `Connection: close`, which the server honours (RFC 9112 §9.6).
    const stream = await openEventStream(app, {
      path: '/events/silent',
      headers: { connection: 'keep-alive' },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe(EVENT_STREAM);
    expect(stream.headers['cache-control']).toBe('no-cache, no-transform');
    expect(stream.headers['x-accel-buffering']).toBe('no');
    expect(stream.headers.connection).toBe('keep-alive');
    expect(stream.raw).toBe('');
    await stream.close();
  });

  it('let @Header() override Cache-Control and keep the other defaults', async () => {
    const app = await start();
    const stream = await openEventStream(app, { path: '/headers/cache-control' });
    expect(stream.headers['cache-control']).toBe('private, no-store');
    expect(stream.headers['content-type']).toBe(EVENT_STREAM);
    expect(stream.headers['x-accel-buffering']).toBe('no');
    await stream.waitForEnd();
    expect(stream.events.map((event) => event.data)).toEqual(['ok']);
  });

  it('keep the charset of a @Header() Content-Type', async () => {
    const app = await start();
    const stream = await openEventStream(app, { path: '/headers/charset' });
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    await stream.waitForEnd();
    expect(stream.events.map((event) => event.data)).toEqual(['ok']);
  });

  it('keep only the parameters of a foreign @Header() Content-Type', async () => {
    const app = await start();
    const stream = await openEventStream(app, { path: '/headers/foreign-type' });
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    await stream.waitForEnd();
  });

  it('add the headers of @Header() to the defaults', async () => {
    const app = await start();
    const stream = await openEventStream(app, { path: '/headers/extra' });
    expect(stream.headers['x-feed']).toBe('prices');
    expect(stream.headers['content-type']).toBe(EVENT_STREAM);
    expect(stream.headers['cache-control']).toBe('no-cache, no-transform');
    await stream.waitForEnd();
  });

  it('answer a POST stream with 200, not the 201 of a POST route', async () => {
    const app = await start();
    const stream = await openEventStream(app, {
      path: '/headers/post',
      method: 'POST',
      body: { question: 'why?' },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe(EVENT_STREAM);
    expect(await eventsUntilEnd(stream)).toEqual([
      { event: 'answer', id: undefined, data: 'you asked: why?' },
    ]);
  });
});

describe('payloads, as eventsource-parser reads them', () => {
  it('round-trips multi-line, empty, padded, JSON and non-ASCII data', async () => {
    const app = await start();
    const stream = await openEventStream(app, { path: '/events/payloads' });
    const events = await eventsUntilEnd(stream);
    expect(events).toEqual([
      { event: undefined, id: undefined, data: 'line one\nline two\nline three\nline four' },
      { event: undefined, id: undefined, data: 'data: fake\n\nevent: injected\nid: 666' },
      { event: undefined, id: undefined, data: '' },
      { event: undefined, id: undefined, data: ' leading space, trailing space ' },
      { event: 'json', id: undefined, data: expect.any(String) },
      { event: 'unicode', id: 'é-1', data: 'héllo 🌍 ✓' },
    ]);
    expect(JSON.parse(events[4]?.data ?? '')).toEqual({
      user: { name: 'Ada', bio: 'a\nb' },
      tags: ['x', 'y'],
      n: 1.5,
      none: null,
    });
  });
});

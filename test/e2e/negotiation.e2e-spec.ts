import 'reflect-metadata';
import { type INestApplication, type Type, VersioningType } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidStreamRouteError } from '../../src/index.js';
import { openEventStream } from '../../src/testing/index.js';
import { AdminAppModule } from '../src/negotiation/admin-app.module.js';
import { CallLog } from '../support/call-log.js';
import { HeaderVersionedAppModule } from '../src/negotiation/header-versioned-app.module.js';
import { HttpCodeAboveAppModule } from '../src/negotiation/http-code-above-app.module.js';
import { HttpCodeBelowAppModule } from '../src/negotiation/http-code-below-app.module.js';
import { NegotiationAppModule } from '../src/negotiation/negotiation-app.module.js';
import { VersionedAppModule } from '../src/negotiation/versioned-app.module.js';

const EVENT_STREAM = 'text/event-stream';

let app: INestApplication | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function start(
  module: Type,
  configure: (app: INestApplication) => void = () => undefined,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
  app = moduleRef.createNestApplication({ logger: false });
  configure(app);
  await app.init();
  return app;
}

function current(): INestApplication {
  if (app === undefined) throw new Error('No application started');
  return app;
}

function log(): CallLog {
  return current().get(CallLog);
}

function varyTokens(vary: string | string[] | undefined): string[] {
  return [vary ?? '']
    .flat()
    .join(',')
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token.length > 0);
}

function parseEvents(text: string): EventSourceMessage[] {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  parser.feed(text);
  return events;
}

/** Asserts that the plain handler answered (its JSON), with `Vary: Accept`. */
async function expectPlain(
  path: string,
  accept: string | undefined,
  handler: string,
  headers: Record<string, string> = {},
) {
  const req = request(current().getHttpServer()).get(path).set(headers);
  if (accept !== undefined) req.set('Accept', accept);
  const res = await req;
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.body).toEqual({ handler });
  expect(varyTokens(res.headers.vary)).toContain('accept');
  return res;
}

/** Asserts that the stream answered (its one event, then the end), with `Vary: Accept`. */
async function expectStream(
  path: string,
  accept: string | undefined,
  data: string,
  headers: Record<string, string> = {},
) {
  if (accept === undefined) {
    // The helper always sends an Accept header; only a raw request can leave it out.
    const res = await request(current().getHttpServer()).get(path).set(headers);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(EVENT_STREAM);
    expect(varyTokens(res.headers.vary)).toContain('accept');
    expect(parseEvents(res.text).map((event) => event.data)).toEqual([data]);
    return;
  }
  const stream = await openEventStream(current(), { path, headers: { ...headers, accept } });
  expect(stream.status).toBe(200);
  expect(stream.headers['content-type']).toBe(EVENT_STREAM);
  expect(varyTokens(stream.headers.vary)).toContain('accept');
  await stream.waitForEnd();
  expect(stream.events.map((event) => event.data)).toEqual([data]);
}

describe('Accept negotiation between a plain handler and a stream on one path', () => {
  it.each([
    { accept: 'text/event-stream', answer: 'stream' },
    { accept: 'text/event-stream, */*;q=0.1', answer: 'stream' },
    { accept: 'TEXT/Event-Stream', answer: 'stream' },
    { accept: 'text/html;q=0.5, text/event-stream', answer: 'stream' },
    { accept: 'text/event-stream; charset=utf-8', answer: 'stream' },
    { accept: undefined, answer: 'plain' },
    { accept: '*/*', answer: 'plain' },
    { accept: 'text/*', answer: 'plain' },
    { accept: 'text/event-stream, text/html', answer: 'plain' },
    { accept: 'text/html, text/event-stream', answer: 'plain' },
    { accept: 'application/json', answer: 'plain' },
    { accept: 'application/json, text/event-stream;q=0.9', answer: 'plain' },
    { accept: 'text/event-stream;q=0, */*', answer: 'plain' },
    { accept: 'text/event-stream;q=0', answer: 'plain' },
  ])('Accept: $accept → $answer', async ({ accept, answer }) => {
    await start(NegotiationAppModule);
    if (answer === 'stream') {
      await expectStream('/feed', accept, 'feed.stream');
    } else {
      await expectPlain('/feed', accept, 'feed.plain');
    }
  });

  it.each([
    { accept: 'text/event-stream', answer: 'stream' },
    { accept: 'text/event-stream, */*;q=0.1', answer: 'stream' },
    { accept: undefined, answer: 'plain' },
    { accept: '*/*', answer: 'plain' },
    { accept: 'text/event-stream, text/html', answer: 'plain' },
    { accept: 'application/json', answer: 'plain' },
  ])(
    'does not depend on declaration order (stream declared first), Accept: $accept → $answer',
    async ({ accept, answer }) => {
      await start(NegotiationAppModule);
      if (answer === 'stream') {
        await expectStream('/stream-first', accept, 'stream-first.stream');
      } else {
        await expectPlain('/stream-first', accept, 'stream-first.plain');
      }
    },
  );
});

describe('Accept negotiation on a path with only a stream', () => {
  it.each([
    { accept: 'text/event-stream' },
    { accept: undefined },
    { accept: '*/*' },
    { accept: 'text/*' },
    { accept: 'text/event-stream, text/html' },
    { accept: 'application/json, text/event-stream;q=0.5' },
  ])('Accept: $accept → stream', async ({ accept }) => {
    await start(NegotiationAppModule);
    await expectStream('/stream-only', accept, 'stream-only.stream');
  });

  it.each([
    { accept: 'application/json' },
    { accept: 'text/html' },
    { accept: 'text/event-stream;q=0' },
    { accept: 'text/event-stream;q=0, */*' },
  ])('Accept: $accept → 406 JSON that says what to send', async ({ accept }) => {
    await start(NegotiationAppModule);
    const res = await request(current().getHttpServer()).get('/stream-only').set('Accept', accept);
    expect(res.status).toBe(406);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      statusCode: 406,
      error: 'Not Acceptable',
      message: expect.stringContaining('text/event-stream'),
    });
    expect(varyTokens(res.headers.vary)).toContain('accept');
  });
});

describe('negotiation under path rewriting', () => {
  it('holds under a global prefix', async () => {
    await start(NegotiationAppModule, (a) => a.setGlobalPrefix('api'));
    await expectStream('/api/feed', EVENT_STREAM, 'feed.stream');
    await expectPlain('/api/feed', '*/*', 'feed.plain');
    expect(log().count('feed.stream')).toBe(1);
    expect(log().count('feed.plain')).toBe(1);
    await request(current().getHttpServer()).get('/feed').set('Accept', EVENT_STREAM).expect(404);
  });

  it('holds under URI versioning, per version', async () => {
    await start(VersionedAppModule, (a) => a.enableVersioning({ type: VersioningType.URI }));
    await expectStream('/v1/versioned', EVENT_STREAM, 'versioned.v1.stream');
    await expectPlain('/v1/versioned', '*/*', 'versioned.v1.plain');
    await expectPlain('/v1/versioned', undefined, 'versioned.v1.plain');
    // Version 2 has no stream: its plain handler answers whatever the Accept.
    const v2 = await request(current().getHttpServer())
      .get('/v2/versioned')
      .set('Accept', EVENT_STREAM);
    expect(v2.status).toBe(200);
    expect(v2.body).toEqual({ handler: 'versioned.v2.plain' });
  });

  it('holds under header versioning, where versions share one path (version 1)', async () => {
    await start(HeaderVersionedAppModule, (a) =>
      a.enableVersioning({ type: VersioningType.HEADER, header: 'x-api-version' }),
    );
    const v1 = { 'x-api-version': '1' };
    await expectStream('/header-versioned', EVENT_STREAM, 'header-versioned.v1.stream', v1);
    await expectPlain('/header-versioned', '*/*', 'header-versioned.v1.plain', v1);
  });

  it('holds under header versioning: a version without a stream keeps its plain handler', async () => {
    await start(HeaderVersionedAppModule, (a) =>
      a.enableVersioning({ type: VersioningType.HEADER, header: 'x-api-version' }),
    );
    const v2 = { 'x-api-version': '2' };
    await expectPlain('/header-versioned', '*/*', 'header-versioned.v2.plain', v2);
    // Version 2 has no stream, so its plain handler answers as it does under URI versioning.
    const res = await request(current().getHttpServer())
      .get('/header-versioned')
      .set(v2)
      .set('Accept', EVENT_STREAM);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ handler: 'header-versioned.v2.plain' });
  });

  it('holds under RouterModule', async () => {
    await start(AdminAppModule);
    await expectStream('/admin/reports', EVENT_STREAM, 'reports.stream');
    await expectPlain('/admin/reports', '*/*', 'reports.plain');
    await expectPlain('/admin/reports', undefined, 'reports.plain');
    await request(current().getHttpServer())
      .get('/reports')
      .set('Accept', EVENT_STREAM)
      .expect(404);
  });
});

describe('guards: each handler runs only its own', () => {
  it('runs a global guard exactly once for a plain request', async () => {
    await start(NegotiationAppModule);
    await expectPlain('/feed', '*/*', 'feed.plain');
    expect(log().count('global-guard')).toBe(1);
    expect(log().count('feed.plain')).toBe(1);
    expect(log().count('feed.stream')).toBe(0);
  });

  it('runs a global guard exactly once for a stream request', async () => {
    await start(NegotiationAppModule);
    await expectStream('/feed', EVENT_STREAM, 'feed.stream');
    expect(log().count('global-guard')).toBe(1);
    expect(log().count('feed.stream')).toBe(1);
    expect(log().count('feed.plain')).toBe(0);
  });

  it("does not run the stream's roles guard for a plain request", async () => {
    await start(NegotiationAppModule);
    const res = await request(current().getHttpServer())
      .get('/guarded')
      .set('Accept', '*/*')
      .set('x-role', 'reader');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ handler: 'guarded.plain' });
    expect(log().count('roles-guard:reader')).toBe(1);
    expect(log().count('roles-guard:streamer')).toBe(0);
    expect(log().count('global-guard')).toBe(1);
  });

  it("does not run the plain handler's roles guard for a stream", async () => {
    await start(NegotiationAppModule);
    const stream = await openEventStream(current(), {
      path: '/guarded',
      headers: { 'x-role': 'streamer' },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe(EVENT_STREAM);
    await stream.waitForEnd();
    expect(stream.events.map((event) => event.data)).toEqual(['guarded.stream']);
    expect(log().count('roles-guard:streamer')).toBe(1);
    expect(log().count('roles-guard:reader')).toBe(0);
    expect(log().count('global-guard')).toBe(1);
  });

  it("still runs each handler's own guard", async () => {
    await start(NegotiationAppModule);
    await request(current().getHttpServer())
      .get('/guarded')
      .set('Accept', '*/*')
      .set('x-role', 'streamer')
      .expect(403);
    const stream = await openEventStream(current(), {
      path: '/guarded',
      headers: { 'x-role': 'reader' },
    });
    expect(stream.status).toBe(403);
    expect(stream.headers['content-type']).toMatch(/^application\/json/);
    await stream.waitForEnd();
    expect(JSON.parse(stream.raw)).toMatchObject({ statusCode: 403 });
    expect(log().count('guarded.plain')).toBe(0);
    expect(log().count('guarded.stream')).toBe(0);
  });
});

describe('HEAD', () => {
  it("answers with the stream's headers after its guards, without running the handler", async () => {
    await start(NegotiationAppModule);
    const res = await request(current().getHttpServer())
      .head('/guarded')
      .set('Accept', EVENT_STREAM)
      .set('x-role', 'streamer');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(EVENT_STREAM);
    expect(res.headers['cache-control']).toBe('no-cache, no-transform');
    expect(res.headers['x-accel-buffering']).toBe('no');
    expect(varyTokens(res.headers.vary)).toContain('accept');
    expect(res.text ?? '').toBe('');
    expect(log().count('global-guard')).toBe(1);
    expect(log().count('roles-guard:streamer')).toBe(1);
    expect(log().count('roles-guard:reader')).toBe(0);
    expect(log().count('guarded.stream')).toBe(0);
    expect(log().count('guarded.plain')).toBe(0);
  });

  it("is refused by the stream's guard like a GET", async () => {
    await start(NegotiationAppModule);
    const res = await request(current().getHttpServer())
      .head('/guarded')
      .set('Accept', EVENT_STREAM)
      .set('x-role', 'reader');
    expect(res.status).toBe(403);
    expect(log().count('guarded.stream')).toBe(0);
  });
});

describe('Vary', () => {
  it('appends Accept to a Vary set by a middleware, on both handlers', async () => {
    await start(NegotiationAppModule);
    const plain = await expectPlain('/vary/middleware', '*/*', 'vary.middleware.plain');
    expect(varyTokens(plain.headers.vary)).toEqual(expect.arrayContaining(['origin', 'accept']));
    const stream = await openEventStream(current(), { path: '/vary/middleware' });
    expect(stream.headers['content-type']).toBe(EVENT_STREAM);
    expect(varyTokens(stream.headers.vary)).toEqual(expect.arrayContaining(['origin', 'accept']));
    await stream.waitForEnd();
  });

  it('appends Accept to a Vary set with @Header() on the plain handler', async () => {
    await start(NegotiationAppModule);
    const plain = await request(current().getHttpServer()).get('/vary/header').set('Accept', '*/*');
    expect(plain.body).toEqual({ handler: 'vary.header.plain' });
    expect(varyTokens(plain.headers.vary)).toEqual(expect.arrayContaining(['origin', 'accept']));
  });

  it('appends Accept to a Vary set with @Header() on the stream', async () => {
    await start(NegotiationAppModule);
    const stream = await openEventStream(current(), { path: '/vary/header' });
    expect(stream.headers['content-type']).toBe(EVENT_STREAM);
    await stream.waitForEnd();
    expect(stream.events.map((event) => event.data)).toEqual(['vary.header.stream']);
    expect(varyTokens(stream.headers.vary)).toEqual(expect.arrayContaining(['origin', 'accept']));
  });
});

describe('methods and statuses', () => {
  it('streams a POST with 200 and the parsed @Body()', async () => {
    await start(NegotiationAppModule);
    const stream = await openEventStream(current(), {
      path: '/chat',
      method: 'POST',
      body: { prompt: 'hi there' },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe(EVENT_STREAM);
    await stream.waitForEnd();
    expect(stream.events).toEqual([
      expect.objectContaining({ event: 'answer', data: '{"echo":"hi there"}' }),
    ]);
  });

  it('leaves the plain POST handler its own status', async () => {
    await start(NegotiationAppModule);
    const res = await request(current().getHttpServer())
      .post('/chat')
      .set('Accept', 'application/json')
      .send({ prompt: 'hi there' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ handler: 'chat.plain', prompt: 'hi there' });
  });

  it.each(['/jobs/done', '/jobs/done/async'])('answers 204 for noContent() (%s)', async (path) => {
    await start(NegotiationAppModule);
    const stream = await openEventStream(current(), { path });
    expect(stream.status).toBe(204);
    await stream.waitForEnd();
    expect(stream.raw).toBe('');
  });

  it.each(['/jobs/42', '/jobs/42/async'])(
    'streams when the same handler does not return noContent() (%s)',
    async (path) => {
      await start(NegotiationAppModule);
      await expectStream(path, EVENT_STREAM, 'progress of 42');
    },
  );

  it.each([
    { module: HttpCodeAboveAppModule, status: 201, where: 'above' },
    { module: HttpCodeBelowAppModule, status: 202, where: 'below' },
  ])(
    'refuses to start with @HttpCode($status) $where @EventStream()',
    async ({ module, status }) => {
      const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
      app = moduleRef.createNestApplication({ logger: false });
      const error: unknown = await app.init().then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(InvalidStreamRouteError);
      expect(error).toMatchObject({
        code: 'SSE_INVALID_STREAM_ROUTE',
        message: expect.stringContaining(`@HttpCode(${status})`),
      });
    },
  );
});

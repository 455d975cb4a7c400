import 'reflect-metadata';
import { type INestApplication, VersioningType } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { EventSource } from 'eventsource';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamRegistry } from '../../src/index.js';
import { openEventStream } from '../../src/testing/index.js';
import { fastifyAppModule } from '../src/fastify/fastify-app.module.js';
import { FastifyProbe } from '../src/fastify/fastify-probe.js';

const EVENT_STREAM = 'text/event-stream';

let app: NestFastifyApplication | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function start(
  configure: (app: NestFastifyApplication) => void = () => undefined,
  adapterOptions: ConstructorParameters<typeof FastifyAdapter>[0] = {},
  versioned = false,
): Promise<NestFastifyApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [fastifyAppModule({}, { versioned })],
  }).compile();
  app = moduleRef.createNestApplication<NestFastifyApplication>(
    new FastifyAdapter(adapterOptions),
    {
      logger: process.env.DEBUG_LOG ? undefined : false,
    },
  );
  configure(app);
  await app.listen(0, '127.0.0.1');
  return app;
}

function server(): INestApplication['getHttpServer'] extends () => infer S ? S : never {
  return app!.getHttpServer();
}

function varyTokens(vary: string | string[] | undefined): string[] {
  return [vary ?? '']
    .flat()
    .join(',')
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token.length > 0);
}

describe('Fastify (HTTP/1.1): routes and negotiation', () => {
  it('boots the Quick start shape (plain + stream on one path) and serves both', async () => {
    await start();
    const plain = await request(server()).get('/').expect(200);
    expect(plain.text).toBe('ok');
    expect(varyTokens(plain.headers.vary)).toContain('accept');

    const source = new EventSource(await app!.getUrl());
    const received: string[] = [];
    await new Promise<void>((resolve, reject) => {
      source.addEventListener('error', () => reject(new Error('EventSource error')));
      source.addEventListener('message', (event) => {
        received.push(event.data);
        if (received.length === 2) resolve();
      });
    });
    source.close();
    expect(received).toEqual(['hello 0', 'hello 1']);
  });

  it('registers one Fastify route per path and method', async () => {
    await start();
    const routes = app!.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
    // GET (and Fastify's own HEAD) once each for "/", never twice.
    expect(routes.match(/^[└├]── \/ \(GET, HEAD\)$/m)).not.toBeNull();
    expect(routes).not.toMatch(/\/ \(GET, HEAD\)[\s\S]*\/ \(GET, HEAD\)/);
  });

  it('streams to Accept: text/event-stream with the stream headers and Vary: Accept', async () => {
    await start();
    const stream = await openEventStream(app!, { path: '/' });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe(EVENT_STREAM);
    expect(stream.headers['cache-control']).toBe('no-cache, no-transform');
    expect(varyTokens(stream.headers.vary)).toContain('accept');
    const [event] = await stream.take(1);
    expect(event).toMatchObject({ data: 'hello 0', id: '0' });
    await stream.close();
  });

  it.each(['application/json', 'text/html', 'text/event-stream;q=0'])(
    'answers a stream-only route 406 JSON for Accept: %s, with Vary: Accept',
    async (accept) => {
      await start();
      const res = await request(server()).get('/f/only').set('Accept', accept);
      expect(res.status).toBe(406);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({
        statusCode: 406,
        error: 'Not Acceptable',
        message: expect.stringContaining(EVENT_STREAM),
      });
      expect(varyTokens(res.headers.vary)).toContain('accept');
    },
  );

  it('keeps a route\u2019s own Vary beside Accept, on the plain answer and on the stream', async () => {
    await start();
    const plain = await request(server()).get('/f/vary').set('Accept', '*/*').expect(200);
    expect(plain.body).toEqual({ handler: 'vary.plain' });
    expect(varyTokens(plain.headers.vary)).toEqual(['origin', 'accept']);

    const stream = await openEventStream(app!, { path: '/f/vary' });
    expect(varyTokens(stream.headers.vary)).toEqual(['origin', 'accept']);
    await stream.waitForEnd();
    expect(stream.events.map((event) => event.data)).toEqual(['vary.stream']);
  });

  it('answers HEAD with the stream headers and no body', async () => {
    await start();
    const res = await request(server()).head('/').set('Accept', EVENT_STREAM);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(EVENT_STREAM);
    expect(res.text ?? '').toBe('');
  });

  it('runs the stream route\u2019s guard (403 through Nest\u2019s filters) and interceptor', async () => {
    await start();
    const refused = await request(server()).get('/f/guarded').set('Accept', EVENT_STREAM);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ statusCode: 403 });

    const stream = await openEventStream(app!, {
      path: '/f/guarded',
      headers: { 'x-key': 'open' },
    });
    await stream.waitForEnd();
    expect(stream.events.map((event) => event.data)).toEqual(['guarded']);
    // Interceptors see the stream open (one undefined), not its events.
    expect(app!.get(FastifyProbe).intercepted).toEqual([undefined]);
  });

  it('answers an error thrown before the head through Nest\u2019s filters', async () => {
    await start();
    const res = await request(server()).get('/f/fails').set('Accept', EVENT_STREAM);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'not yours' });
  });

  it('sends @Header() values on the stream', async () => {
    await start();
    const stream = await openEventStream(app!, { path: '/f/custom' });
    expect(stream.headers['x-custom']).toBe('kept');
    expect(stream.headers['cache-control']).toBe('no-store');
    expect(stream.headers['content-type']).toBe(EVENT_STREAM);
    await stream.waitForEnd();
  });

  it('holds under URI versioning (Fastify constraints survive the dispatcher)', async () => {
    await start((a) => a.enableVersioning({ type: VersioningType.URI }), {}, true);
    const stream = await openEventStream(app!, { path: '/v1/versions' });
    await stream.waitForEnd();
    expect(stream.events.map((event) => event.data)).toEqual(['v1.stream']);
    const v1 = await request(server()).get('/v1/versions').set('Accept', '*/*').expect(200);
    expect(v1.body).toEqual({ handler: 'v1.plain' });
    const v2 = await request(server()).get('/v2/versions').set('Accept', EVENT_STREAM).expect(200);
    expect(v2.body).toEqual({ handler: 'v2.plain' });
  });

  it('holds under header versioning', async () => {
    await start(
      (a) => a.enableVersioning({ type: VersioningType.HEADER, header: 'x-api-version' }),
      {},
      true,
    );
    const stream = await openEventStream(app!, {
      path: '/versions',
      headers: { 'x-api-version': '1' },
    });
    await stream.waitForEnd();
    expect(stream.events.map((event) => event.data)).toEqual(['v1.stream']);
    const v1 = await request(server())
      .get('/versions')
      .set({ 'x-api-version': '1', Accept: '*/*' })
      .expect(200);
    expect(v1.body).toEqual({ handler: 'v1.plain' });
    const v2 = await request(server())
      .get('/versions')
      .set({ 'x-api-version': '2', Accept: EVENT_STREAM })
      .expect(200);
    expect(v2.body).toEqual({ handler: 'v2.plain' });
  });

  it('holds under a global prefix', async () => {
    await start((a) => a.setGlobalPrefix('api'));
    const stream = await openEventStream(app!, { path: '/api/f/only' });
    await stream.waitForEnd();
    expect(stream.events.map((event) => event.data)).toEqual(['only']);
    const plain = await request(server()).get('/api').set('Accept', '*/*').expect(200);
    expect(plain.text).toBe('ok');
  });

  it('keeps a stream open past Fastify\u2019s handlerTimeout', async () => {
    await start(undefined, { handlerTimeout: 200 });
    const stream = await openEventStream(app!, { path: '/f/ticks' });
    // Ten events at 50 ms apart outlast a 200 ms handler timeout.
    const events = await stream.take(10);
    expect(events.map((event) => event.data)).toEqual(
      Array.from({ length: 10 }, (_, n) => String(n)),
    );
    await stream.close();
  });

  it('frees the source, aborts the signal and forgets the stream when the client leaves', async () => {
    await start();
    const probe = app!.get(FastifyProbe);
    const registry = app!.get(StreamRegistry);
    const stream = await openEventStream(app!, {
      path: '/f/resume',
      headers: { 'Last-Event-ID': '41' },
    });
    const [event] = await stream.take(1);
    expect(JSON.parse(event!.data)).toEqual({ lastEventId: '41' });
    expect(registry.stats().open).toBe(1);
    await stream.close();
    await probe.until(() => probe.released.includes('resume') && probe.aborted.includes('resume'));
    expect(registry.stats().open).toBe(0);
  });

  it('gives the client key from Fastify\u2019s request.ip', async () => {
    await start();
    const registry = app!.get(StreamRegistry);
    const stream = await openEventStream(app!, { path: '/f/resume' });
    await stream.take(1);
    expect(registry.list().map((info) => info.clientKey)).toEqual(['127.0.0.1']);
    await stream.close();
  });

  it('honours trustProxy for the client key (request.ip)', async () => {
    await start(undefined, { trustProxy: true });
    const registry = app!.get(StreamRegistry);
    const stream = await openEventStream(app!, {
      path: '/f/resume',
      headers: { 'X-Forwarded-For': '203.0.113.7' },
    });
    await stream.take(1);
    expect(registry.list().map((info) => info.clientKey)).toEqual(['203.0.113.7']);
    await stream.close();
  });

  it('ends open streams with a retry hint when the application closes', async () => {
    await start();
    const stream = await openEventStream(app!, { path: '/f/ticks' });
    await stream.take(1);
    await app!.close();
    app = undefined;
    await stream.waitForEnd();
    expect(stream.retry).toBeGreaterThan(0);
  });
});

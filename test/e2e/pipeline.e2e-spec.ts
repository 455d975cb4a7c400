import 'reflect-metadata';
import { type INestApplication, type Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { within } from '../support/deadline.js';
import { afterEach, describe, expect, it } from 'vitest';
import { openEventStream } from '../../src/testing/index.js';
import { PipelineAppModule } from '../src/pipeline/pipeline-app.module.js';
import { PipelineProbe } from '../src/pipeline/pipeline-probe.js';
import { QUIET_DELAY_MS } from '../src/pipeline/quiet.controller.js';
import { TimeoutAppModule } from '../src/pipeline/timeout-app.module.js';
import { REQUEST_TIMEOUT_MS } from '../src/pipeline/timeout.interceptor.js';

const EVENT_STREAM = 'text/event-stream';

/** The application of the running test, closed after it unless the test closed it. */
let running: INestApplication | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(module: Type): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [module] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  running = app;
  await app.listen(0, '127.0.0.1');
  return app;
}

describe('guards answer before any stream byte', () => {
  it('answers 403 JSON when a guard returns false, without running the handler', async () => {
    const app = await start(PipelineAppModule);
    const stream = await openEventStream(app, { path: '/secure/bearer' });
    expect(stream.status).toBe(403);
    expect(stream.headers['content-type']).toMatch(/^application\/json/);
    await stream.waitForEnd();
    expect(JSON.parse(stream.raw)).toEqual({
      statusCode: 403,
      message: 'Forbidden resource',
      error: 'Forbidden',
    });
    expect(stream.raw).not.toMatch(/^(data|event|id):/m);
    expect(stream.events).toEqual([]);
    expect(app.get(PipelineProbe).count('secure.bearer')).toBe(0);
  });

  it('streams once the guard lets the request through', async () => {
    const app = await start(PipelineAppModule);
    const stream = await openEventStream(app, {
      path: '/secure/bearer',
      headers: { authorization: 'Bearer letmein' },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe(EVENT_STREAM);
    await stream.waitForEnd();
    expect(stream.events.map((event) => event.data)).toEqual(['secret feed']);
    expect(app.get(PipelineProbe).count('secure.bearer')).toBe(1);
  });

  it('answers 401 JSON when a guard throws UnauthorizedException', async () => {
    const app = await start(PipelineAppModule);
    const stream = await openEventStream(app, { path: '/secure/api-key' });
    expect(stream.status).toBe(401);
    expect(stream.headers['content-type']).toMatch(/^application\/json/);
    await stream.waitForEnd();
    expect(JSON.parse(stream.raw)).toEqual({
      statusCode: 401,
      message: 'An x-api-key header is required',
      error: 'Unauthorized',
    });
    expect(stream.events).toEqual([]);
    expect(app.get(PipelineProbe).count('secure.api-key')).toBe(0);
  });

  it('streams with the key the guard asks for', async () => {
    const app = await start(PipelineAppModule);
    const stream = await openEventStream(app, {
      path: '/secure/api-key',
      headers: { 'x-api-key': 'k' },
    });
    expect(stream.status).toBe(200);
    await stream.waitForEnd();
    expect(stream.events.map((event) => event.data)).toEqual(['keyed feed']);
  });
});

describe('pipes and parameter decorators', () => {
  it('answers 400 JSON when ParseIntPipe refuses the @Param()', async () => {
    const app = await start(PipelineAppModule);
    const stream = await openEventStream(app, { path: '/params/items/abc' });
    expect(stream.status).toBe(400);
    expect(stream.headers['content-type']).toMatch(/^application\/json/);
    await stream.waitForEnd();
    expect(JSON.parse(stream.raw)).toEqual({
      statusCode: 400,
      message: 'Validation failed (numeric string is expected)',
      error: 'Bad Request',
    });
    expect(stream.events).toEqual([]);
  });

  it("hands the pipe's result to the handler", async () => {
    const app = await start(PipelineAppModule);
    const stream = await openEventStream(app, { path: '/params/items/42' });
    expect(stream.status).toBe(200);
    await stream.waitForEnd();
    expect(stream.events.map((event) => JSON.parse(event.data))).toEqual([
      { id: 42, type: 'number' },
    ]);
  });

  it('passes @Query() and @Headers() values', async () => {
    const app = await start(PipelineAppModule);
    const stream = await openEventStream(app, {
      path: '/params/echo?q=hello%20world',
      headers: { 'x-client': 'vitest' },
    });
    expect(stream.status).toBe(200);
    await stream.waitForEnd();
    expect(stream.events.map((event) => JSON.parse(event.data))).toEqual([
      { q: 'hello world', client: 'vitest' },
    ]);
  });
});

describe('exception filters', () => {
  it('lets a controller-level filter answer an error thrown by the handler', async () => {
    const app = await start(PipelineAppModule);
    const stream = await openEventStream(app, { path: '/quota/sync' });
    expect(stream.status).toBe(429);
    expect(stream.headers['content-type']).toMatch(/^application\/json/);
    await stream.waitForEnd();
    expect(JSON.parse(stream.raw)).toEqual({
      filtered: true,
      limit: 3,
      message: 'Quota of 3 streams exceeded',
    });
  });

  it('lets a controller-level filter answer a rejection of an async handler', async () => {
    const app = await start(PipelineAppModule);
    const stream = await openEventStream(app, { path: '/quota/async' });
    expect(stream.status).toBe(429);
    await stream.waitForEnd();
    expect(JSON.parse(stream.raw)).toEqual({
      filtered: true,
      limit: 5,
      message: 'Quota of 5 streams exceeded',
    });
  });

  it('lets a controller-level filter answer an error the source emits while subscribed', async () => {
    const app = await start(PipelineAppModule);
    const stream = await openEventStream(app, { path: '/quota/on-subscribe' });
    expect(stream.status).toBe(429);
    await stream.waitForEnd();
    expect(JSON.parse(stream.raw)).toEqual({
      filtered: true,
      limit: 7,
      message: 'Quota of 7 streams exceeded',
    });
  });

  it('leaves the streams of the same controller that do not fail alone', async () => {
    const app = await start(PipelineAppModule);
    const stream = await openEventStream(app, { path: '/quota/ok' });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe(EVENT_STREAM);
    await stream.waitForEnd();
    expect(stream.events.map((event) => event.data)).toEqual(['within quota']);
  });
});

describe('interceptors', () => {
  it('show a logging interceptor the stream opening as one undefined value, not its events', async () => {
    const app = await start(PipelineAppModule);
    const stream = await openEventStream(app, { path: '/observed/intercepted' });
    await stream.waitForEnd();
    expect(stream.events.map((event) => event.data)).toEqual(['event 0', 'event 1', 'event 2']);
    const probe = app.get(PipelineProbe);
    expect(probe.intercepted).toEqual([undefined]);
    expect(probe.interceptedCompleted).toBe(true);
  });

  it('apply the global timeout interceptor to plain routes (the fixture works)', async () => {
    const app = await start(TimeoutAppModule);
    const res = await request(app.getHttpServer()).get('/quiet/slow');
    expect(res.status).toBe(408);
  });

  it('do not let a global timeout() kill a stream that stays quiet longer', async () => {
    expect(QUIET_DELAY_MS).toBeGreaterThan(2 * REQUEST_TIMEOUT_MS);
    const app = await start(TimeoutAppModule);
    const stream = await openEventStream(app, { path: '/quiet' });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe(EVENT_STREAM);
    const [event] = await stream.take(1);
    expect(event).toMatchObject({ data: 'finally' });
    expect(event?.event).toBeUndefined();
    await stream.waitForEnd();
    expect(stream.events).toHaveLength(1);
  });
});

describe('@EventStreamSignal()', () => {
  it('aborts when the client disconnects from an open stream', async () => {
    const app = await start(PipelineAppModule);
    const probe = app.get(PipelineProbe);
    const stream = await openEventStream(app, { path: '/observed/signal' });
    await stream.take(1);
    expect(probe.signal?.aborted).toBe(false);
    await stream.close();
    await within(probe.aborted, 2000, 'the signal to abort');
    expect(probe.signal?.aborted).toBe(true);
  });

  it('aborts when the client leaves during an async setup, before the stream opened', async () => {
    const app = await start(PipelineAppModule);
    const probe = app.get(PipelineProbe);
    const { port } = app.getHttpServer().address() as AddressInfo;
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/observed/signal-during-setup',
      headers: { accept: EVENT_STREAM },
      agent: false,
    });
    const responded = new Promise<boolean>((resolve) => {
      req.once('response', () => resolve(true));
      req.once('close', () => resolve(false));
    });
    req.once('error', () => undefined);
    req.end();
    await within(probe.handlerCalled, 2000, 'the handler to be called');
    expect(probe.signal?.aborted).toBe(false);
    req.destroy();
    await within(probe.aborted, 2000, 'the signal to abort');
    expect(probe.signal?.aborted).toBe(true);
    expect(await responded).toBe(false);
  });
});

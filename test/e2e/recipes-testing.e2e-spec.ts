import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseModule } from '../../src/index.js';
import { collectEvents, openEventStream } from '../../src/testing/index.js';
import { PricesController } from '../src/recipes/prices.controller.js';

// The README recipe "Testing your streams", as a user's own test file would be (users import
// from 'nestjs-event-stream' and 'nestjs-event-stream/testing').

describe('recipe: testing your own routes with nestjs-event-stream/testing', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SseModule.forRoot({ heartbeatMs: 50 })],
      controllers: [PricesController],
    }).compile();
    app = moduleRef.createNestApplication();
    await app.init(); // not listening: the helpers listen on an ephemeral port themselves
  });

  afterAll(async () => {
    await app.close();
  });

  it('collects the events of a stream', async () => {
    const { events, status, headers } = await collectEvents(app, { path: '/prices', count: 3 });
    expect(status).toBe(200);
    expect(headers['content-type']).toBe('text/event-stream');
    expect(events).toEqual([
      { event: 'price', id: '1', data: '{"symbol":"ACME","price":100}' },
      { event: 'price', id: '2', data: '{"symbol":"ACME","price":101}' },
      { event: 'price', id: '3', data: '{"symbol":"ACME","price":102}' },
    ]);
  });

  it('reads a stream step by step, sees its end, and its heartbeats', async () => {
    const stream = await openEventStream(app, { path: '/prices' });
    const [first] = await stream.take(1);
    expect(JSON.parse(first!.data)).toEqual({ symbol: 'ACME', price: 100 });
    expect((await stream.take(2)).map((event) => event.id)).toEqual(['2', '3']);
    await stream.waitForEnd(); // the Observable completed: the server ended the response

    const quiet = await openEventStream(app, { path: '/quiet' });
    await quiet.waitFor((s) => s.comments.length >= 1, 'a heartbeat');
    expect(quiet.events).toEqual([]);
    await quiet.close();
  });

  it('tests the plain handler of the same path with supertest', async () => {
    await request(app.getHttpServer())
      .get('/prices')
      .expect(200, { symbol: 'ACME', price: 100 })
      .expect('vary', /Accept/);
  });

  it('fails with a clear message instead of hanging', async () => {
    const stream = await openEventStream(app, { path: '/quiet', timeoutMs: 100 });
    await expect(stream.take(1)).rejects.toThrow(/Timed out after 100 ms waiting for 1 event/);
    await stream.close();
  });
});

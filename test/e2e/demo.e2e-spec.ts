import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { EventSource } from 'eventsource';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppModule } from '../../example/app.module.js';
import { HELLO_INTERVAL_MS } from '../../example/hello.constants.js';
import { openEventStream } from '../../src/testing/index.js';

describe('the demo app (the seed example)', () => {
  let app: INestApplication;
  let base: string;

  async function start(intervalMs: number): Promise<void> {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(HELLO_INTERVAL_MS)
      .useValue(intervalMs)
      .compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  }

  beforeEach(async () => {
    await start(50);
  });

  afterEach(async () => {
    await app.close();
  });

  it('answers ok to a plain request', async () => {
    const res = await request(app.getHttpServer()).get('/').expect(200);
    expect(res.text).toBe('ok');
    expect(res.headers.vary).toMatch(/Accept/);
  });

  it('streams hello with id 1 to a real EventSource client', async () => {
    const source = new EventSource(base);
    const received: Array<{ type: string; data: string; lastEventId: string }> = [];
    await new Promise<void>((resolve, reject) => {
      source.addEventListener('error', () => reject(new Error('EventSource error')));
      source.addEventListener('message', (event) => {
        received.push({ type: event.type, data: event.data, lastEventId: event.lastEventId });
        if (received.length === 2) resolve();
      });
    });
    source.close();
    expect(received).toEqual([
      { type: 'message', data: 'hello', lastEventId: '1' },
      { type: 'message', data: 'hello', lastEventId: '1' },
    ]);
  });

  it('sends the headers before the first event', async () => {
    // An interval no test outlives: the head can only have come before any event.
    await app.close();
    await start(2 ** 31 - 1);
    // As a browser asks: the test client's connection of its own would otherwise send
    // `Connection: close`, which the server honours (RFC 9112 §9.6).
    const stream = await openEventStream(app, { path: '/', headers: { connection: 'keep-alive' } });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream');
    expect(stream.headers['cache-control']).toBe('no-cache, no-transform');
    expect(stream.headers['x-accel-buffering']).toBe('no');
    expect(stream.headers.connection).toBe('keep-alive');
    expect(stream.events).toEqual([]);
    await stream.close();
  });

  it('sends hello with id 1 after the head', async () => {
    const stream = await openEventStream(app, { path: '/' });
    expect(stream.status).toBe(200);
    const [event] = await stream.take(1);
    expect(event).toMatchObject({ event: 'message', data: 'hello', id: '1' });
    await stream.close();
  });
});

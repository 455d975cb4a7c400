import type { INestApplication } from '@nestjs/common';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openEventStream } from '../../src/testing/index.js';
import { PricesController } from '../src/recipes/prices.controller.js';
import { startRecipe } from '../src/recipes/recipes-app.js';

// The README recipe "Behind a proxy": what the library sends so that nginx and other proxies
// pass a stream through unbuffered, and the heartbeat that keeps an idle one under the proxy's
// read timeout.

const HEARTBEAT_MS = 300;

describe('recipe: behind a proxy', () => {
  let app: INestApplication;

  afterEach(async () => {
    await app.close();
  });

  it('sends the headers that turn buffering and transformation off', async () => {
    app = await startRecipe({}, [PricesController]);
    // As a proxy's upstream request asks (`proxy_set_header Connection ''`): the test client's
    // connection of its own would otherwise send `Connection: close`, which the server honours.
    const stream = await openEventStream(app, {
      path: '/quiet',
      headers: { connection: 'keep-alive' },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers).toMatchObject({
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
      'transfer-encoding': 'chunked',
    });
    expect(stream.headers['content-length']).toBeUndefined();
    await stream.close();
  });

  it('keeps an idle stream under a proxy read timeout of twice heartbeatMs', async () => {
    app = await startRecipe({ heartbeatMs: HEARTBEAT_MS }, [PricesController]);
    const { port } = app.getHttpServer().address() as { port: number };
    // A proxy's upstream read: the socket times out when nothing arrived for that long, as
    // nginx's proxy_read_timeout does (60 s by default, against the 15 s heartbeat).
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(2 * HEARTBEAT_MS);
    let timedOut = false;
    socket.on('timeout', () => {
      timedOut = true;
      socket.destroy();
    });
    let received = '';
    const heartbeats = new Promise<void>((resolve, reject) => {
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        received += chunk;
        if ((received.match(/\r\n:\n\r\n/g) ?? []).length >= 4) resolve();
      });
      socket.on('close', () => reject(new Error(`cut after: ${JSON.stringify(received)}`)));
    });
    socket.write('GET /quiet HTTP/1.1\r\nHost: proxy\r\nAccept: text/event-stream\r\n\r\n');
    await heartbeats;
    expect(timedOut).toBe(false);
    // Nothing but the head and heartbeat comments: the stream itself is quiet.
    expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*?\r\n\r\n(2\r\n:\n\r\n)+$/);
    socket.destroy();
  });
});

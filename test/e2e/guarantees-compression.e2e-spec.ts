import type { INestApplication } from '@nestjs/common';
import compression from 'compression';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { type IncomingMessage, request } from 'node:http';
import { createGunzip } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { within } from '../support/deadline.js';
import { startGuaranteesApp } from '../src/guarantees/guarantees-app.js';
import { GuaranteesProbe } from '../src/guarantees/guarantees-probe.js';
import { portOf } from '../src/production/production-app.js';

// A compression middleware (Express's `compression`) holds what it is given until its buffer
// fills; the library calls its `flush()` once per tick that wrote, so that every event reaches
// the client as it is sent. The library compresses nothing itself.

let running: INestApplication | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('behind the compression middleware', () => {
  it('each event arrives, compressed, before the next one is sent', async () => {
    const app = await startGuaranteesApp({ heartbeatMs: 0 }, (nest) =>
      nest.use(compression({ threshold: 0 })),
    );
    running = app;
    const probe = app.get(GuaranteesProbe);
    const events: EventSourceMessage[] = [];
    const waiters = new Set<() => void>();
    const parser = createParser({
      onEvent: (event) => {
        events.push(event);
        for (const waiter of waiters) waiter();
      },
    });
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port: portOf(app),
        path: '/g/compressible',
        agent: false,
        headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip' },
      });
      req.once('response', resolve);
      req.once('error', reject);
      req.end();
    });
    expect(response.headers['content-encoding']).toBe('gzip');
    const gunzip = createGunzip();
    gunzip.setEncoding('utf8');
    gunzip.on('data', (text: string) => parser.feed(text));
    response.pipe(gunzip);

    for (let n = 0; n < 5; n++) {
      probe.feed.next({ id: n, data: `event ${n}` });
      await within(
        new Promise<void>((resolve) => {
          const check = () => {
            if (events.length <= n) return;
            waiters.delete(check);
            resolve();
          };
          waiters.add(check);
          check();
        }),
        2000,
        `event ${n}, decompressed`,
      );
    }
    expect(events.map((event) => event.data)).toEqual([0, 1, 2, 3, 4].map((n) => `event ${n}`));
    response.destroy();
  });
});

import type { INestApplication } from '@nestjs/common';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type SseEvent, type SseModuleOptions, StreamRegistry } from '../../src/index.js';
import { openEventStream } from '../../src/testing/index.js';
import { CallLog } from '../support/call-log.js';
import { nextTurn, within } from '../support/deadline.js';
import { EventFeed } from '../src/production/event-feed.js';
import { FeedController } from '../src/production/feed.controller.js';
import { LifecycleRecorder } from '../src/production/lifecycle-recorder.js';
import { portOf, startProductionApp } from '../src/production/production-app.js';
import { RawEventStream } from '../src/production/raw-event-stream.js';

const RECONNECT = { reconnectDelayMs: 1000, reconnectJitterMs: 4000 };
const SHUTDOWN_EVENT: SseEvent = { type: 'shutdown', data: 'bye' };
const DATA = 'x'.repeat(1024);

/** A stream client on its own connection, as 500 browsers would be. */
interface StreamClient {
  raw: string;
  events: EventSourceMessage[];
  retry?: number;
  /** Resolves when the response closed: true if the server ended it, false if it was cut. */
  finished: Promise<boolean>;
}

function openClient(port: number, path: string): Promise<StreamClient> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path,
      agent: false,
      headers: { accept: 'text/event-stream' },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      const client: StreamClient = { raw: '', events: [], finished: Promise.resolve(false) };
      const parser = createParser({
        onEvent: (event) => client.events.push(event),
        onRetry: (retry) => (client.retry = retry),
      });
      let ended = false;
      client.finished = new Promise((done) => {
        res.once('end', () => (ended = true));
        res.once('close', () => done(ended));
      });
      res.on('error', () => undefined);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        client.raw += chunk;
        parser.feed(chunk);
      });
      resolve(client);
    });
    req.end();
  });
}

/** Resolves with what settles first: `app.close()`, or a timer of `limitMs`. */
async function closeWithin(app: INestApplication, limitMs: number) {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    app.close().then(() => 'closed' as const),
    new Promise<'still closing'>((resolve) => {
      timer = setTimeout(() => resolve('still closing'), limitMs);
    }),
  ]);
  clearTimeout(timer);
  return { outcome, elapsed: Date.now() - started };
}

describe('graceful shutdown', () => {
  let app: INestApplication;
  let registry: StreamRegistry;
  let lifecycle: LifecycleRecorder;
  const rawClients: RawEventStream[] = [];

  async function start(options: SseModuleOptions): Promise<void> {
    app = await startProductionApp({ ...RECONNECT, ...options }, [FeedController]);
    registry = app.get(StreamRegistry);
    lifecycle = new LifecycleRecorder(registry);
  }

  /**
   * A client that reads nothing, and a server socket full of what it did not read: its last
   * event and its end cannot be flushed.
   */
  async function stuckClient(): Promise<{ client: RawEventStream; serverSocket: Socket }> {
    const client = await RawEventStream.open(portOf(app), '/feed/flood');
    rawClients.push(client);
    await lifecycle.waitFor(
      (l) => l.opens.some((e) => e.stream.path === '/feed/flood'),
      'the stuck stream to open',
    );
    const serverSocket = registry.list().find((s) => s.path === '/feed/flood')!.request
      .socket as Socket;
    const channel = app.get(EventFeed).channel('flood');
    // Until the kernel refuses more (the socket still holds bytes after a turn), then 1 MiB.
    let id = 0;
    do {
      for (const end = id + 16; id < end;) channel.next({ id: id++, data: DATA });
      await nextTurn();
    } while (serverSocket.writableLength === 0 && id < 32_768);
    expect(serverSocket.writableLength).toBeGreaterThan(0);
    for (const end = id + 1024; id < end;) channel.next({ id: id++, data: DATA });
    return { client, serverSocket };
  }

  afterEach(async () => {
    await Promise.all(rawClients.splice(0).map((client) => client.destroy()));
    lifecycle.stop();
    // A second close() of a closed application is harmless; this one covers a failed test.
    await app.close();
  });

  it('ends 500 open streams within shutdownGraceMs, each with the final event and a retry hint', async () => {
    const grace = 3000;
    await start({ shutdownGraceMs: grace, shutdownEvent: SHUTDOWN_EVENT });
    const port = portOf(app);
    const clients: StreamClient[] = [];
    for (let batch = 0; batch < 5; batch++) {
      clients.push(
        ...(await Promise.all(Array.from({ length: 100 }, () => openClient(port, '/feed/news')))),
      );
    }
    expect(registry.stats().open).toBe(500);

    const { outcome } = await closeWithin(app, grace + 2000);
    expect(outcome).toBe('closed');

    const endedByServer = await within(
      Promise.all(clients.map((client) => client.finished)),
      5000,
      'every client to see its stream close',
    );
    expect(endedByServer.filter((ended) => !ended)).toHaveLength(0);
    for (const client of clients) {
      expect(client.events).toEqual([expect.objectContaining({ event: 'shutdown', data: 'bye' })]);
      expect(client.retry).toBeGreaterThanOrEqual(RECONNECT.reconnectDelayMs);
      expect(client.retry).toBeLessThanOrEqual(
        RECONNECT.reconnectDelayMs + RECONNECT.reconnectJitterMs,
      );
      expect(client.raw.indexOf('event: shutdown')).toBeLessThan(client.raw.indexOf('retry:'));
    }
    // Spread with jitter, so that they do not all come back in the same instant.
    expect(new Set(clients.map((client) => client.retry)).size).toBeGreaterThan(100);
    expect(registry.stats().open).toBe(0);
    expect(registry.heartbeat.timers).toBe(0);
  });

  it('does not let a client that never reads hold app.close() past shutdownGraceMs', async () => {
    const grace = 500;
    // A per-connection budget far above what is pushed: the client stays open until shutdown.
    await start({ shutdownGraceMs: grace, maxBufferedBytes: 64 * 1024 * 1024 });
    const { client, serverSocket } = await stuckClient();
    expect(registry.stats().open).toBe(1);

    const { outcome, elapsed } = await closeWithin(app, grace + 2000);

    expect(outcome).toBe('closed');
    // It waited for the stream to flush, up to the grace period, then cut it.
    expect(elapsed).toBeGreaterThanOrEqual(grace - 50);
    expect(serverSocket.destroyed).toBe(true);
    client.resume();
    await within(client.closed, 5000, 'the stuck client to see its connection closed');
    expect(client.bodyComplete).toBe(false);
    expect(registry.heartbeat.timers).toBe(0);
  });

  it('refuses a stream that arrives during shutdown, without running its handler', async () => {
    await start({ shutdownGraceMs: 5000, shutdownEvent: SHUTDOWN_EVENT });
    const log = app.get(CallLog);
    const reader = await openEventStream(app, { path: '/feed/news' });
    const { client } = await stuckClient();
    expect(log.count('feed.news')).toBe(1);

    // The stuck client holds the shutdown in its grace period; the reader tells it began.
    const closing = app.close();
    await reader.waitFor((s) => s.events.some((e) => e.event === 'shutdown'), 'the shutdown event');
    await reader.waitForEnd();

    const late = await openEventStream(app, { path: '/feed/news' });
    await late.waitForEnd();
    expect(late.status).toBe(200);
    expect(late.retry).toBeGreaterThanOrEqual(RECONNECT.reconnectDelayMs);
    expect(late.events.map((e) => e.event)).toEqual(['connection-limit']);
    expect(JSON.parse(late.events[0]!.data)).toMatchObject({ limit: 'shutdown' });
    expect(log.count('feed.news')).toBe(1);
    expect(registry.stats().refused).toBe(1);

    // Once the stuck client goes, nothing is left to flush.
    await client.destroy();
    await within(closing, 2000, 'app.close() once no stream is left');
  });

  it('reports every stream it ends on lifecycle$, with the reason shutdown', async () => {
    await start({ shutdownGraceMs: 3000 });
    const streams = await Promise.all(
      Array.from({ length: 3 }, () => openEventStream(app, { path: '/feed/news' })),
    );
    expect(lifecycle.opens).toHaveLength(3);

    await app.close();
    await Promise.all(streams.map((stream) => stream.waitForEnd()));

    expect(lifecycle.closes().map((e) => e.reason)).toEqual(['shutdown', 'shutdown', 'shutdown']);
  });
});

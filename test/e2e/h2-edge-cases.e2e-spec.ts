import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { once } from 'node:events';
import type { ClientHttp2Session, Http2Server, ServerHttp2Session } from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { type SseModuleOptions, StreamRegistry } from '../../src/index.js';
import {
  openEventStream,
  openHttp2Session,
  type TestEventStream,
} from '../../src/testing/index.js';
import { ConformanceAppModule } from '../src/conformance/conformance-app.module.js';
import { EventFeed } from '../src/production/event-feed.js';
import { LifecycleRecorder } from '../src/production/lifecycle-recorder.js';
import { PullController } from '../src/production/pull.controller.js';
import { PullProbe } from '../src/production/pull-probe.js';
import { within } from '../support/deadline.js';
import { eventually } from '../support/eventually.js';
import { H2PausedStream } from '../support/h2-paused-stream.js';
import { type PlatformApp, PLATFORMS } from '../support/platforms.js';

// HTTP/2 edge cases on the Nest app (Fastify http2): a client resetting a stream mid-write, a
// session of 100 streams with one never reading, h1 and h2 clients on one allowHTTP1 TLS port,
// and heartbeats keeping a quiet stream past Fastify's http2SessionTimeout.

const H2C = PLATFORMS.find((platform) => platform.name === 'fastify-h2c')!;
const H2_TLS = PLATFORMS.find((platform) => platform.name === 'fastify-h2-tls')!;

let started: PlatformApp | undefined;
let bare: INestApplication | undefined;
const sessions: ClientHttp2Session[] = [];

afterEach(async () => {
  for (const opened of sessions.splice(0)) opened.destroy();
  await started?.close();
  await bare?.close();
  started = undefined;
  bare = undefined;
});

async function startH2c(options: SseModuleOptions = {}): Promise<PlatformApp> {
  started = await H2C.createApp(ConformanceAppModule.with(options, [PullController]));
  return started;
}

async function session(app: PlatformApp, settings = {}): Promise<ClientHttp2Session> {
  const opened = await openHttp2Session(app.app, { settings });
  sessions.push(opened);
  return opened;
}

describe('HTTP/2 clients that go away', () => {
  it('a stream reset mid-write releases its source, and the session serves on', async () => {
    const app = await startH2c();
    const errors: unknown[] = [];
    app.app.get(StreamRegistry).logger.error = (message: unknown) => void errors.push(message);
    const client = await session(app);
    // A pull source that writes as fast as flow control lets it: the reset lands mid-write.
    const stream = await app.openEventStream({
      session: client,
      path: '/pull/generator?count=1000000&size=10000',
    });
    await stream.take(3);
    await stream.close();
    expect(stream.resetCode).toBe(8);
    const probe = app.app.get(PullProbe);
    await probe.sources[0]!.released;
    expect(probe.sources[0]!.releasedHow).toBe('finally');
    await eventually(() => app.app.get(StreamRegistry).stats().open === 0, 'the stream to close');

    // The same session opens the next stream as if nothing happened.
    expect(client.destroyed).toBe(false);
    const next = await app.openEventStream({ session: client, path: '/c/events' });
    await next.waitForEnd();
    expect(next.events).toHaveLength(4);
    expect(errors).toEqual([]);
  });

  it('100 streams on one session, one never reading: the 99 get every event, the one is cut', async () => {
    const app = await startH2c({ heartbeatMs: 0, maxBufferedBytes: 64 * 1024 });
    const registry = app.app.get(StreamRegistry);
    const lifecycle = new LifecycleRecorder(registry);
    const client = await session(app);
    const readers: TestEventStream[] = [];
    for (let i = 0; i < 99; i++) {
      readers.push(await app.openEventStream({ session: client, path: '/c/feed/all' }));
    }
    const paused = await H2PausedStream.open(client, '/c/feed/all');
    await eventually(() => registry.stats().open === 100, '100 open streams');

    const channel = app.app.get(EventFeed).channel('all');
    const COUNT = 300;
    // In batches that every reader takes before the next: the readers are never slow clients,
    // the paused one falls behind by the whole flood (far past its window and budget).
    for (let id = 0; id < COUNT; id++) {
      channel.next({ id, data: 'y'.repeat(1000) });
      if (id % 20 === 19) await Promise.all(readers.map((reader) => reader.waitForEvents(id + 1)));
    }
    for (const reader of readers) {
      expect(reader.events.map((e) => Number(e.id))).toEqual(
        Array.from({ length: COUNT }, (_, i) => i),
      );
    }
    expect(lifecycle.closes().map((c) => c.reason)).toEqual(['slow-client']);
    paused.resume();
    await paused.closed;
    expect(paused.rstCode).toBe(8);
    expect(client.destroyed).toBe(false);
    expect(registry.stats().open).toBe(99);
    lifecycle.stop();
    await Promise.all(readers.map((reader) => reader.close()));
  });
});

describe('allowHTTP1: HTTP/1.1 and HTTP/2 clients on one TLS port', () => {
  it('streams to both, each by its own protocol rules', async () => {
    started = await H2_TLS.createApp(ConformanceAppModule.with({ heartbeatMs: 0 }));
    const h2 = await started.openEventStream({ path: '/c/events' });
    // As a browser asks over HTTP/1.1 (the test client's own connection would send `close`).
    const h1 = await started.openEventStream({
      path: '/c/events',
      http2: false,
      headers: { connection: 'keep-alive' },
    });
    expect([h2.protocol, h1.protocol]).toEqual(['2', '1.1']);
    for (const stream of [h1, h2]) {
      await stream.waitForEnd();
      expect(stream.events.map((e) => e.data)).toEqual([
        'one',
        '{"n":2}',
        'multi\nline',
        'id reset',
      ]);
    }
    expect(h1.headers.connection).toBe('keep-alive');
    expect(h1.headers['transfer-encoding']).toBe('chunked');
    expect(h2.headers).not.toHaveProperty('connection');
    expect(h2.headers).not.toHaveProperty('transfer-encoding');
    // The h1 client's Keep-Alive route header reaches it; over h2 it is dropped.
    const keepH1 = await started.openEventStream({ path: '/c/keep-alive', http2: false });
    const keepH2 = await started.openEventStream({ path: '/c/keep-alive' });
    await Promise.all([keepH1.waitForEnd(), keepH2.waitForEnd()]);
    expect(keepH1.headers['keep-alive']).toBe('timeout=5');
    expect(keepH2.headers).not.toHaveProperty('keep-alive');
    expect(keepH2.raw).toBe('data: kept\n\n');
  });
});

describe("heartbeats and Fastify's http2SessionTimeout", () => {
  it('keeps a quiet stream open past several session timeouts while heartbeats flow', async () => {
    bare = await NestFactory.create(
      ConformanceAppModule.with({ heartbeatMs: 40 }),
      new FastifyAdapter({ http2: true, http2SessionTimeout: 150 }),
      { logger: false },
    );
    await bare.listen(0, '127.0.0.1');
    const stream = await openEventStream(bare, { path: '/c/quiet' });
    // 20 heartbeats of 40 ms: the session would have idled out five times over.
    await stream.waitFor((s) => s.comments.length >= 20, '20 heartbeats');
    expect(stream.closed).toBe(false);
    expect(bare.get(StreamRegistry).stats().open).toBe(1);
    await stream.close();
  });

  it('holds the session timeout off while an event stream is open, and gives it back after', async () => {
    bare = await NestFactory.create(
      ConformanceAppModule.with({ heartbeatMs: 0 }),
      new FastifyAdapter({ http2: true, http2SessionTimeout: 150 }),
      { logger: false },
    );
    const serverSessions: Array<ServerHttp2Session & { timeout?: number }> = [];
    (bare.getHttpServer() as Http2Server).on('session', (opened) => serverSessions.push(opened));
    await bare.listen(0, '127.0.0.1');
    const client = await openHttp2Session(bare);
    sessions.push(client);
    const stream = await openEventStream(bare, { session: client, path: '/c/quiet' });
    const [served] = serverSessions;
    // Off (0) while the stream is open: Node refreshes that timer on every write of the session.
    expect(served!.timeout).toBe(0);
    const goaway = once(client, 'goaway');
    await stream.close();
    // The idle session times out again: Fastify closes it with a GOAWAY after 150 ms.
    await within(goaway, 5000, "the idle session's GOAWAY");
    expect(served!.timeout).toBe(150);
  });
});

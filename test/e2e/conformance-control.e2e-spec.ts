import { afterEach, describe, expect, it } from 'vitest';
import { type SseModuleOptions, StreamRegistry } from '../../src/index.js';
import { openHttp2Session } from '../../src/testing/index.js';
import { ConformanceAppModule } from '../src/conformance/conformance-app.module.js';
import { ControlController } from '../src/production/control.controller.js';
import { LimitsController } from '../src/production/limits.controller.js';
import { type KeyedRequest, UserKeyController } from '../src/production/user-key.controller.js';
import { CallLog } from '../support/call-log.js';
import { within } from '../support/deadline.js';
import { H2PausedStream } from '../support/h2-paused-stream.js';
import { eventually } from '../support/eventually.js';
import { CONFORMANCE_PLATFORMS, type PlatformApp } from '../support/platforms.js';

// What operators do with streams, on every platform: connection limits (a retry hint, or 429),
// StreamRegistry's list(), stats() and close(), and app.close() with streams (and, over HTTP/2,
// sessions) still open.

/** Far above any grace below: app.close() hanging on a session would miss it by a minute. */
const CLOSE_DEADLINE_MS = 15_000;

describe.each(CONFORMANCE_PLATFORMS)('operating streams on $name', (platform) => {
  let started: PlatformApp | undefined;

  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  async function start(options: SseModuleOptions = {}): Promise<PlatformApp> {
    started = await platform.createApp(
      ConformanceAppModule.with({ heartbeatMs: 0, ...options }, [
        LimitsController,
        ControlController,
        UserKeyController,
      ]),
    );
    return started;
  }

  it('refuses a stream past maxConnections with a retry hint and an event, not running it', async () => {
    const app = await start();
    const first = await app.openEventStream({ path: '/limits/narrow' });
    const refused = await app.openEventStream({ path: '/limits/narrow' });
    expect(refused.status).toBe(200);
    await refused.waitForEnd();
    expect(refused.retry).toBeGreaterThan(0);
    expect(refused.events.map((e) => e.event)).toEqual(['connection-limit']);
    expect(JSON.parse(refused.events[0]!.data)).toMatchObject({ limit: 'maxConnections' });
    expect(app.app.get(CallLog).count('limits.narrow')).toBe(1);
    expect(app.app.get(StreamRegistry).stats()).toMatchObject({ open: 1, refused: 1 });
    await first.close();
  });

  it("answers 429 with Retry-After under limitResponse: 'status'", async () => {
    const app = await start({ maxConnections: 1, limitResponse: 'status' });
    const first = await app.openEventStream({ path: '/limits/open' });
    const refused = await app.openEventStream({ path: '/limits/open' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    await refused.waitForEnd();
    expect(JSON.parse(refused.raw)).toMatchObject({ statusCode: 429, limit: 'maxConnections' });
    if (platform.protocol === '2') expect(refused.headers).not.toHaveProperty('connection');
    await first.close();
  });

  it('lists, counts and closes streams through StreamRegistry', async () => {
    const app = await start();
    const registry = app.app.get(StreamRegistry);
    const feeds = await Promise.all([
      app.openEventStream({ path: '/control/feed' }),
      app.openEventStream({ path: '/control/feed' }),
    ]);
    const other = await app.openEventStream({ path: '/control/other' });
    await other.waitFor(() => registry.stats().open === 3, 'three open streams');
    expect(
      registry
        .list()
        .map((s) => s.path)
        .toSorted(),
    ).toEqual(['/control/feed', '/control/feed', '/control/other']);
    expect(registry.list().every((s) => typeof s.clientKey === 'string')).toBe(true);
    expect(registry.stats().openByHandler).toEqual({
      'ControlController.feed': 2,
      'ControlController.other': 1,
    });

    const closed = registry.close((s) => s.path === '/control/feed', {
      event: { type: 'bye', data: 'logged out' },
      retryMs: 1234,
    });
    expect(closed).toBe(2);
    for (const feed of feeds) {
      await feed.waitForEnd();
      expect(feed.events.map((e) => [e.event, e.data])).toEqual([['bye', 'logged out']]);
      expect(feed.retry).toBe(1234);
    }
    expect(registry.stats().open).toBe(1);
    expect(other.closed).toBe(false);
    await other.close();
  });

  it('ends every open stream at app.close() with the shutdown event and a retry hint', async () => {
    const app = await start({
      shutdownEvent: { type: 'shutdown', data: 'restarting' },
      shutdownGraceMs: 2000,
    });
    const session = platform.protocol === '2' ? await openHttp2Session(app.app) : undefined;
    const streams = await Promise.all([
      app.openEventStream({ path: '/control/feed', session }),
      app.openEventStream({ path: '/control/feed', session }),
      app.openEventStream({ path: '/control/other' }),
    ]);
    const registry = app.app.get(StreamRegistry);
    await streams[0]!.waitFor(() => registry.stats().open === 3, 'three open streams');
    started = undefined;
    await within(app.close(), CLOSE_DEADLINE_MS, 'app.close() with open streams');
    for (const stream of streams) {
      await stream.waitForEnd();
      expect(stream.events.map((e) => [e.event, e.data])).toEqual([['shutdown', 'restarting']]);
      expect(stream.retry).toBeGreaterThan(0);
    }
    if (session !== undefined) {
      // The session got its GOAWAY and closed, rather than staying until its timeout.
      await within(
        new Promise((resolve) =>
          session.closed ? resolve(undefined) : session.once('close', resolve),
        ),
        CLOSE_DEADLINE_MS,
        'the client session to close',
      );
    }
  });

  it('closes within the grace while a client reads nothing (and, over HTTP/2, an idle session)', async () => {
    const app = await start({ shutdownGraceMs: 200 });
    const registry = app.app.get(StreamRegistry);
    let paused: H2PausedStream | undefined;
    if (platform.protocol === '2') {
      const session = await openHttp2Session(app.app, { settings: { initialWindowSize: 1024 } });
      const idle = await openHttp2Session(app.app);
      paused = await H2PausedStream.open(session, '/control/feed');
      await eventually(() => registry.stats().open === 1, 'the paused stream to open');
      started = undefined;
      await within(app.close(), CLOSE_DEADLINE_MS, 'app.close() with a paused stream');
      paused.resume();
      await paused.closed;
      session.destroy();
      expect(idle.destroyed || idle.closed).toBe(true);
      idle.destroy();
    } else {
      const stream = await app.openEventStream({ path: '/control/feed' });
      await stream.waitFor(() => registry.stats().open === 1, 'the stream to open');
      started = undefined;
      await within(app.close(), CLOSE_DEADLINE_MS, 'app.close() with an open stream');
      await stream.waitForClose();
    }
    expect(registry.stats().open).toBe(0);
  });

  it("keys clients by the request its route's @Req() gets: a guard's user, and StreamInfo.request", async () => {
    const app = await start({
      maxConnectionsPerClient: 1,
      clientKey: (request: KeyedRequest) => request.user?.id,
    });
    const ann = await app.openEventStream({
      path: '/users/1/events',
      headers: { 'x-user': 'ann' },
    });
    const again = await app.openEventStream({
      path: '/users/2/events',
      headers: { 'x-user': 'ann' },
    });
    const bob = await app.openEventStream({
      path: '/users/1/events',
      headers: { 'x-user': 'bob' },
    });
    await again.waitForEnd();
    expect(again.events.map((e) => e.event)).toEqual(['connection-limit']);
    expect(JSON.parse(again.events[0]!.data)).toMatchObject({ limit: 'maxConnectionsPerClient' });
    const registry = app.app.get(StreamRegistry);
    const open = registry.list();
    expect(open.map((s) => s.clientKey)).toEqual(['ann', 'bob']);
    // The very object the handler got (Fastify's FastifyRequest, not its raw request).
    const handed = app.app.get(UserKeyController).requests;
    expect(open.map((s) => s.request)).toEqual([handed[0], handed[1]]);
    expect(open[0]!.request).toBe(handed[0]);
    expect(open.map((s) => s.protocol)).toEqual([platform.protocol, platform.protocol]);
    expect(registry.close((s) => s.clientKey === 'ann')).toBe(1);
    await ann.waitForEnd();
    await bob.close();
    await eventually(() => registry.stats().open === 0, 'both streams closed');
  });
});

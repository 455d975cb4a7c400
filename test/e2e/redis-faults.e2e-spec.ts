import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { EventEmitter, on, once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BrokerUnavailableError,
  redisBroker,
  type RedisBrokerOptions,
  SseHub,
} from '../../src/index.js';
import { openEventStream, type TestEventStream } from '../../src/testing/index.js';
import { FAULTS_PUBLISH_TIMEOUT_MS, FaultsAppModule } from '../src/faults/faults-app.module.js';
import { OpenHandles } from '../src/faults/open-handles.js';
import { ResumingClient } from '../src/faults/resuming-client.js';
import {
  freePort,
  RedisServer,
  redisServerInstalled,
  reportRedisServerAvailability,
} from '../support/redis-server.js';

// Redis is broken for real here: each test runs a redis-server of its own (a child process on a
// free port, AOF fsynced on every write), stops it with SHUTDOWN and starts it again on the same
// data (or freezes it with SIGSTOP), while an application streams and publishes through it. What
// a client receives is the oracle; the broker's internals are never looked at.

const installed = redisServerInstalled();
reportRedisServerAvailability(installed, 'redis-faults.e2e-spec');

/** What a publish may take beyond publishTimeoutMs before it counts as hanging. */
const PUBLISH_MARGIN_MS = 1000;
/** Every wait of a client: an outage and ioredis' reconnection backoff (≤ 2 s) fit in it. */
const CLIENT_TIMEOUT_MS = 10_000;
/**
 * ioredis' `disconnect()` of a connection whose socket is already gone (reconnecting) arms a
 * timer to destroy that socket, which nothing clears: it ends by itself after this long.
 */
const IOREDIS_DISCONNECT_TIMEOUT_MS = 2000;
/** Publishes tried after a restart until one resolves, one per heartbeat: about 5 s. */
const MAX_RECOVERY_ATTEMPTS = 50;

type Outcome<T> = { ok: true; value: T; ms: number } | { ok: false; error: unknown; ms: number };

/** Settles with how `promise` ended and how long it took; fails if it takes over `limitMs`. */
async function outcomeOf<T>(
  promise: Promise<T>,
  limitMs: number,
  what: string,
): Promise<Outcome<T>> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} hung for ${limitMs} ms`)), limitMs);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ ok: true as const, value, ms: performance.now() - started }),
        (error: unknown) => ({ ok: false as const, error, ms: performance.now() - started }),
      ),
      hang,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A TCP server on `port` that accepts connections and does what `onSocket` says with them. */
async function tcpServer(port: number, onSocket: (socket: Socket) => void): Promise<Server> {
  const server = createServer(onSocket);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/**
 * After Redis came back: publishes `data#1`, `data#2`… until one resolves, one try per
 * heartbeat of `client` (ioredis reconnects with a backoff); returns the id and data of the
 * one that resolved and the data of those that were refused.
 */
async function publishOnceRecovered(
  hub: SseHub,
  client: { nextHeartbeat(): Promise<void> },
  data: string,
): Promise<{ id: string; data: string; refused: string[] }> {
  const refused: string[] = [];
  for (let attempt = 1; attempt <= MAX_RECOVERY_ATTEMPTS; attempt++) {
    const tried = `${data}#${attempt}`;
    const outcome = await outcomeOf(
      hub.publish('feed', tried),
      FAULTS_PUBLISH_TIMEOUT_MS + PUBLISH_MARGIN_MS,
      `publish("${tried}")`,
    );
    if (outcome.ok) return { id: outcome.value, data: tried, refused };
    expect(outcome.error).toBeInstanceOf(BrokerUnavailableError);
    refused.push(tried);
    await client.nextHeartbeat();
  }
  throw new Error(`no publish resolved in ${MAX_RECOVERY_ATTEMPTS} tries after Redis restarted`);
}

/** A stream's next heartbeat. */
function heartbeatsOf(stream: TestEventStream): { nextHeartbeat(): Promise<void> } {
  return {
    nextHeartbeat() {
      const seen = stream.comments.length;
      return stream.waitFor((s) => s.comments.length > seen, 'a heartbeat');
    },
  };
}

describe.skipIf(!installed)('the Redis broker when Redis fails', () => {
  let redis: RedisServer | undefined;
  let app: INestApplication | undefined;
  const cleanups: Array<() => Promise<unknown>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).toReversed()) await cleanup().catch(() => undefined);
    // Bounded: a close that hangs is reported by its own test, not by every hook after it.
    if (app !== undefined) await outcomeOf(app.close(), 3000, 'app.close()').catch(() => undefined);
    app = undefined;
    await redis?.kill();
    redis = undefined;
  });

  /** An application of the fault fixture on the given broker options, not initialised. */
  async function createApp(broker: RedisBrokerOptions): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({
      imports: [FaultsAppModule.register(broker)],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    return app;
  }

  async function openFeed(target: INestApplication): Promise<TestEventStream> {
    const stream = await openEventStream(target, { path: '/feed', timeoutMs: CLIENT_TIMEOUT_MS });
    cleanups.push(() => stream.close());
    expect(stream.status).toBe(200);
    return stream;
  }

  describe('Redis unreachable at start-up', () => {
    const CONNECT_TIMEOUT_MS = 800;

    /** An application on a Redis URL of this port, and how its `app.init()` ended. */
    async function initAgainst(port: number) {
      const target = await createApp({
        url: `redis://127.0.0.1:${port}`,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
      });
      const init = await outcomeOf(target.init(), CONNECT_TIMEOUT_MS + 5000, 'app.init()');
      return { target, init };
    }

    it('fails app.init() at once with a BrokerUnavailableError that says what to do when nothing listens', async () => {
      const port = await freePort();
      const { init } = await initAgainst(port);

      expect(init.ok).toBe(false);
      const error = (init as { error: unknown }).error;
      expect(error).toBeInstanceOf(BrokerUnavailableError);
      expect((error as BrokerUnavailableError).code).toBe('SSE_BROKER_UNAVAILABLE');
      // Where it looked, and the ways out.
      expect((error as Error).message).toContain(`redis://127.0.0.1:${port}`);
      expect((error as Error).message).toMatch(/start redis/i);
      expect((error as Error).message).toContain('waitForConnection');
      // Refused at once (ECONNREFUSED), not after waiting for connectTimeoutMs.
      expect(init.ms).toBeLessThan(CONNECT_TIMEOUT_MS);
    });

    it('releases everything when app.init() failed: app.close() resolves and no reconnection goes on', async () => {
      const handles = new OpenHandles().start();
      cleanups.push(async () => handles.stop());
      const port = await freePort();
      const { target, init } = await initAgainst(port);
      expect(init.ok).toBe(false);

      const closed = await outcomeOf(target.close(), 5000, 'app.close() after a failed init');
      app = undefined;

      expect(closed.ok, String((closed as { error?: unknown }).error)).toBe(true);
      expect(await handles.closed(IOREDIS_DISCONNECT_TIMEOUT_MS + 500)).toEqual([]);
    });

    it('fails app.init() after connectTimeoutMs when the port accepts but never answers', async () => {
      const held = new Set<Socket>();
      const silent = await tcpServer(await freePort(), (socket) => {
        held.add(socket);
        socket.on('error', () => undefined);
      });
      cleanups.push(async () => {
        for (const socket of held) socket.destroy();
        silent.close();
        await once(silent, 'close');
      });
      const port = (silent.address() as { port: number }).port;
      const { init } = await initAgainst(port);

      expect(init.ok).toBe(false);
      const error = (init as { error: unknown }).error;
      expect(error).toBeInstanceOf(BrokerUnavailableError);
      expect((error as Error).message).toContain(`redis://127.0.0.1:${port}`);
      expect((error as Error).message).toContain('waitForConnection');
      expect(held.size).toBeGreaterThan(0);
      expect(init.ms).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 20);
      expect(init.ms).toBeLessThan(CONNECT_TIMEOUT_MS + 1000);
    });

    it('with waitForConnection, app.init() waits for Redis and succeeds once it is started', async () => {
      redis = await RedisServer.create();
      // Until Redis starts, the port drops every connection: the attempts show init retrying.
      const attempts = new EventEmitter();
      let attempted = 0;
      const dropping = await tcpServer(redis.port, (socket) => {
        socket.destroy();
        attempts.emit('attempt', ++attempted);
      });
      // Shorter than the wait below: with waitForConnection, the connect timeout does not apply.
      const connectTimeoutMs = 300;
      const target = await createApp({ url: redis.url, connectTimeoutMs, waitForConnection: true });
      let settled = false;
      const init = outcomeOf(target.init(), 30_000, 'app.init()').finally(() => {
        settled = true;
      });
      // Four attempts of each of the two connections (backoff 100, 200, 400 ms): about 700 ms.
      for await (const [count] of on(attempts, 'attempt', {
        signal: AbortSignal.timeout(10_000),
      })) {
        if (count >= 8) break;
      }
      expect(settled).toBe(false);
      dropping.close();
      await once(dropping, 'close');

      await redis.start();
      const upAt = performance.now();
      const result = await init;

      expect(result.ok, String((result as { error?: unknown }).error)).toBe(true);
      expect(result.ms).toBeGreaterThan(connectTimeoutMs);
      // ioredis' reconnection backoff is capped at 2 s: the next attempt gets through.
      expect(performance.now() - upAt).toBeLessThan(2000 + 1000);
      const stream = await openFeed(target);
      const id = await target.get(SseHub).publish('feed', 'ready');
      const [event] = await stream.take(1);
      expect(event).toMatchObject({ id, data: 'ready' });
    });
  });

  it('keeps streams open through a Redis outage, refuses publishes in time, and catches up after', async () => {
    redis = await RedisServer.launch();
    const target = await createApp({ url: redis.url });
    await target.init();
    const hub = target.get(SseHub);
    const stream = await openFeed(target);
    const beforeId = await hub.publish('feed', 'before');
    expect(await stream.take(1)).toMatchObject([{ id: beforeId, data: 'before' }]);

    await redis.shutdown();

    // The stream stays open, and heartbeats go on.
    const comments = stream.comments.length;
    await stream.waitFor(
      (s) => s.comments.length >= comments + 3,
      '3 heartbeats while Redis is down',
    );
    // A publish fails loudly, within its timeout: it neither hangs nor waits in a queue.
    const during = await outcomeOf(
      hub.publish('feed', 'during'),
      FAULTS_PUBLISH_TIMEOUT_MS + PUBLISH_MARGIN_MS,
      'publish during the outage',
    );
    expect(during.ok).toBe(false);
    expect((during as { error: unknown }).error).toBeInstanceOf(BrokerUnavailableError);
    expect(during.ms).toBeLessThan(FAULTS_PUBLISH_TIMEOUT_MS + PUBLISH_MARGIN_MS);

    await redis.start();
    // Another instance publishes at once, while this one's connections are still in their
    // reconnection backoff: its reader must catch up from where it was, not start from now.
    const other = redisBroker({ url: redis.url });
    cleanups.push(() => other.close());
    await other.connect();
    const external = await other.publish('feed', { data: 'from-another-instance' });
    await other.close();
    expect(await stream.take(1)).toMatchObject([
      { id: external.id, data: 'from-another-instance' },
    ]);

    const after = await publishOnceRecovered(hub, heartbeatsOf(stream), 'after');
    expect(await stream.take(1)).toMatchObject([{ id: after.id, data: after.data }]);

    // Heartbeats went on throughout, and nothing else arrived: no duplicate, no reset, nothing
    // that was refused.
    expect(stream.endedByServer).toBe(false);
    expect(stream.events.map(({ id, event, data }) => ({ id, event, data }))).toEqual([
      { id: beforeId, event: undefined, data: 'before' },
      { id: external.id, event: undefined, data: 'from-another-instance' },
      { id: after.id, event: undefined, data: after.data },
    ]);
  });

  it('refuses a publish within publishTimeoutMs when Redis stops answering, and goes on when it answers again', async () => {
    redis = await RedisServer.launch();
    const target = await createApp({ url: redis.url });
    await target.init();
    const hub = target.get(SseHub);
    const stream = await openFeed(target);
    const beforeId = await hub.publish('feed', 'before');
    expect(await stream.take(1)).toMatchObject([{ id: beforeId, data: 'before' }]);

    // Connections stay open, nothing is answered: only the publish timeout can end a publish.
    redis.freeze();
    cleanups.push(async () => redis?.running && redis.thaw());
    const frozen = await outcomeOf(
      hub.publish('feed', 'frozen'),
      FAULTS_PUBLISH_TIMEOUT_MS + PUBLISH_MARGIN_MS,
      'publish while Redis does not answer',
    );
    const comments = stream.comments.length;
    await stream.waitFor(
      (s) => s.comments.length >= comments + 2,
      '2 heartbeats while Redis does not answer',
    );
    redis.thaw();

    expect(frozen.ok).toBe(false);
    expect((frozen as { error: unknown }).error).toBeInstanceOf(BrokerUnavailableError);
    expect(frozen.ms).toBeGreaterThanOrEqual(FAULTS_PUBLISH_TIMEOUT_MS - 20);
    expect(frozen.ms).toBeLessThan(FAULTS_PUBLISH_TIMEOUT_MS + PUBLISH_MARGIN_MS);
    const after = await publishOnceRecovered(hub, heartbeatsOf(stream), 'after');
    await stream.waitFor((s) => s.events.some(({ id }) => id === after.id), `"${after.data}"`);
    // Redis received the timed-out XADD before it froze, and runs it when it wakes up: the
    // outcome of a timed-out publish is unknown, but the event arrives once at most, in order.
    const received = stream.events.map(({ id, data }) => ({ id, data }));
    expect(received.filter(({ data }) => data === 'frozen').length).toBeLessThanOrEqual(1);
    expect(received.filter(({ data }) => data !== 'frozen')).toEqual([
      { id: beforeId, data: 'before' },
      { id: after.id, data: after.data },
    ]);
    expect(stream.endedByServer).toBe(false);
  });

  it('loses and duplicates no event whose publish resolved across a restart, and stores none that was refused', async () => {
    const TOTAL = 60;
    const STOP_AFTER_RESOLVED = 20;
    const FAILURES_BEFORE_START = 5;
    redis = await RedisServer.launch();
    const target = await createApp({ url: redis.url });
    await target.init();
    const hub = target.get(SseHub);
    const client = await ResumingClient.open(target, '/feed', CLIENT_TIMEOUT_MS);
    cleanups.push(() => client.close());

    const resolved: Array<{ n: number; id: string }> = [];
    const refused: Array<{ n: number; phase: string; error: unknown; ms: number }> = [];
    let phase: 'up' | 'down' | 'restarted' = 'up';
    let refusedWhileDown = 0;
    for (let n = 0; n < TOTAL; n++) {
      if (phase === 'up' && resolved.length === STOP_AFTER_RESOLVED) {
        await redis.shutdown();
        phase = 'down';
      } else if (phase === 'down' && refusedWhileDown === FAILURES_BEFORE_START) {
        await redis.start();
        phase = 'restarted';
      }
      const outcome = await outcomeOf(
        hub.publish('feed', `n${n}`),
        FAULTS_PUBLISH_TIMEOUT_MS + PUBLISH_MARGIN_MS,
        `publish("n${n}")`,
      );
      if (outcome.ok) {
        resolved.push({ n, id: outcome.value });
        continue;
      }
      refused.push({ n, phase, error: outcome.error, ms: outcome.ms });
      if (phase === 'down') refusedWhileDown += 1;
      // Until ioredis reconnected, one try per heartbeat, not a burst of instant failures.
      if (phase === 'restarted') await client.nextHeartbeat();
    }
    // Whatever a refused publish might still store would come before this one.
    const sentinel = await publishOnceRecovered(hub, client, 'sentinel');

    const received = await client.waitForEvents(resolved.length + 1);

    expect(phase).toBe('restarted');
    for (const failure of refused) {
      expect(failure.error, `n${failure.n}`).toBeInstanceOf(BrokerUnavailableError);
      expect(failure.ms, `n${failure.n}`).toBeLessThan(
        FAULTS_PUBLISH_TIMEOUT_MS + PUBLISH_MARGIN_MS,
      );
    }
    expect(refused.filter((failure) => failure.phase === 'down')).toHaveLength(
      FAILURES_BEFORE_START,
    );
    expect(resolved.slice(0, STOP_AFTER_RESOLVED).map(({ n }) => n)).toEqual(
      Array.from({ length: STOP_AFTER_RESOLVED }, (_, n) => n),
    );
    // Else the restart proved nothing.
    expect(resolved.filter(({ n }) => n > STOP_AFTER_RESOLVED).length).toBeGreaterThan(10);
    expect(received.map(({ id, event, data }) => ({ id, event, data }))).toEqual([
      ...resolved.map(({ n, id }) => ({ id, event: undefined, data: `n${n}` })),
      { id: sentinel.id, event: undefined, data: sentinel.data },
    ]);
    expect(client.events).toHaveLength(resolved.length + 1);

    // Redis' own log agrees: a new client that resumes from the first event replays exactly the
    // rest of what resolved, from the data Redis persisted before its restart.
    const replay = await openEventStream(target, {
      path: '/feed',
      timeoutMs: CLIENT_TIMEOUT_MS,
      headers: { 'last-event-id': resolved[0]!.id },
    });
    cleanups.push(() => replay.close());
    const replayed = await replay.take(resolved.length);
    expect(replayed.map(({ id, data }) => ({ id, data }))).toEqual([
      ...resolved.slice(1).map(({ n, id }) => ({ id, data: `n${n}` })),
      { id: sentinel.id, data: sentinel.data },
    ]);
  });

  it('closes the application while Redis is down without hanging or leaving a handle open', async () => {
    redis = await RedisServer.launch();
    const handles = new OpenHandles().start();
    cleanups.push(async () => handles.stop());
    const target = await createApp({ url: redis.url });
    await target.init();
    const hub = target.get(SseHub);
    const stream = await openFeed(target);
    await hub.publish('feed', 'before');
    await stream.take(1);

    await redis.shutdown();
    const comments = stream.comments.length;
    await stream.waitFor((s) => s.comments.length > comments, 'a heartbeat while Redis is down');

    const closed = await outcomeOf(target.close(), 10_000, 'app.close()');
    app = undefined;
    await stream.waitForEnd();

    expect(closed.ok, String((closed as { error?: unknown }).error)).toBe(true);
    // No reconnection timer, no Redis socket, no server: nothing the app created holds on.
    expect(await handles.closed(IOREDIS_DISCONNECT_TIMEOUT_MS + 500)).toEqual([]);
  });
});

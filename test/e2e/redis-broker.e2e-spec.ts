import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BrokerUnavailableError,
  type GapReason,
  redisBroker,
  type RedisBrokerOptions,
  type RedisClientLike,
  type SseBroker,
  type StoredEvent,
} from '../../src/index.js';
import { openEventStream } from '../../src/testing/index.js';
import { FaultsAppModule } from '../src/faults/faults-app.module.js';
import { TcpProxy } from '../src/faults/tcp-proxy.js';
import {
  RedisServer,
  redisServerInstalled,
  reportRedisServerAvailability,
} from '../support/redis-server.js';

// The Redis broker against redis-servers of the test's own (a child process on a free port),
// often behind a TCP proxy that stalls or cuts the connections of one instance while another
// goes on publishing. What a listener or a client receives, and what Redis holds, are the
// oracles.

const installed = redisServerInstalled();
reportRedisServerAvailability(installed, 'redis-broker.e2e-spec');

/** Every wait of a test: a reconnection backoff (≤ 2 s) fits in it. */
const WAIT_MS = 10_000;
const PUBLISH_TIMEOUT_MS = 500;

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.toReversed()) await cleanup();
  cleanups = [];
});

async function server(): Promise<RedisServer> {
  const redis = await RedisServer.launch();
  cleanups.push(() => redis.kill());
  return redis;
}

async function proxyTo(redis: RedisServer): Promise<TcpProxy> {
  const proxy = await TcpProxy.start(redis.port);
  cleanups.push(() => proxy.close());
  return proxy;
}

async function broker(options: RedisBrokerOptions): Promise<SseBroker> {
  const created = redisBroker({ publishTimeoutMs: PUBLISH_TIMEOUT_MS, ...options });
  await created.connect();
  cleanups.push(() => created.close());
  return created;
}

async function admin(redis: RedisServer): Promise<Redis> {
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  cleanups.push(async () => client.disconnect());
  return client;
}

/** Resolves once `condition` holds, checking again on each turn; fails after `WAIT_MS`. */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/** Publishes `count` events numbered from `from` on `channel`, 50 at a time; their ids. */
async function publishMany(
  on: SseBroker,
  channel: string,
  from: number,
  count: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 50) {
    const batch = Array.from({ length: Math.min(50, count - start) }, (_, i) =>
      on.publish(channel, { data: `e${from + start + i}` }),
    );
    ids.push(...(await Promise.all(batch)).map((event) => event.id));
  }
  return ids;
}

/** An ioredis client with its defaults: an offline queue, no command timeout. */
async function userClient(url: string): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true });
  client.on('error', () => undefined);
  await client.connect();
  cleanups.push(async () => client.disconnect());
  return client;
}

async function commandCalls(client: Redis, command: string): Promise<number> {
  const info = await client.info('commandstats');
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return match === null ? 0 : Number(match[1]);
}

describe.skipIf(!installed)('a reader that falls behind', () => {
  it('delivers every event to a client of a stalled instance, though the channel kept fewer (issue 8 item 5)', async () => {
    const redis = await server();
    const proxy = await proxyTo(redis);
    const retention = { maxEvents: 1000 };
    const moduleRef = await Test.createTestingModule({
      imports: [FaultsAppModule.register({ url: proxy.url, retention })],
    }).compile();
    const app: INestApplication = moduleRef.createNestApplication();
    await app.init();
    cleanups.push(() => app.close());
    const other = await broker({ url: redis.url, retention });

    const stream = await openEventStream(app, { path: '/feed', timeoutMs: 30_000 });
    cleanups.push(() => stream.close());
    const [firstId] = await publishMany(other, 'feed', 0, 1);
    expect((await stream.take(1))[0]).toMatchObject({ id: firstId, data: 'e0' });

    // The instance stalls (its connections to Redis hold everything) while another publishes
    // three times what the channel keeps.
    proxy.pause();
    const ids = await publishMany(other, 'feed', 1, 3000);
    proxy.resume();

    await stream.waitFor(
      (s) => s.events.some((e) => e.id === ids.at(-1) || e.event === 'reset'),
      'the last event or a reset',
    );
    const reset = stream.events.find((event) => event.event === 'reset');
    if (reset === undefined) {
      // No reset: then nothing may be missing.
      await stream.waitForEvents(3001);
      expect(stream.events.slice(1).map((event) => event.id)).toEqual(ids);
    } else {
      expect.fail(`a reset (${reset.data}) although the live feed held every event`);
    }
  }, 60_000);

  it('tells the listeners of a channel that missed events, before any newer event, and no other', async () => {
    const redis = await server();
    const proxy = await proxyTo(redis);
    // The feed keeps fewer than are published while the instance stalls.
    const options = { retention: { maxEvents: 100 }, feedMaxEvents: 100 };
    const stalled = await broker({ url: proxy.url, ...options });
    const other = await broker({ url: redis.url, ...options });

    const log: Array<{ event: StoredEvent } | { gap: GapReason }> = [];
    const quietGaps: GapReason[] = [];
    const busy = stalled.subscribe(
      'busy',
      (event) => log.push({ event }),
      (gap) => log.push({ gap }),
    );
    const quiet = stalled.subscribe(
      'quiet',
      () => undefined,
      (gap) => quietGaps.push(gap),
    );
    cleanups.push(async () => {
      busy.unsubscribe();
      quiet.unsubscribe();
    });
    await Promise.all([busy.ready, quiet.ready]);
    const [first] = await publishMany(other, 'busy', 0, 1);
    await until(() => log.length === 1, 'the first event');

    proxy.pause();
    const ids = await publishMany(other, 'busy', 1, 500);
    proxy.resume();
    await until(
      () => log.some((entry) => 'event' in entry && entry.event.id === ids.at(-1)),
      'the last event',
    );

    const gapAt = log.findIndex((entry) => 'gap' in entry);
    expect(gapAt, 'a gap was reported').toBeGreaterThan(0);
    expect(log[gapAt]).toEqual({ gap: 'history-gap' });
    const before = log.slice(0, gapAt).map((entry) => ('event' in entry ? entry.event.id : '?'));
    const after = log.slice(gapAt + 1).map((entry) => ('event' in entry ? entry.event.id : '?'));
    const all = [first!, ...ids];
    // Before the gap, a prefix of what was published; after it, a suffix up to the newest.
    expect(before).toEqual(all.slice(0, before.length));
    expect(after).toEqual(all.slice(all.length - after.length));
    expect(before.length + after.length).toBeLessThan(all.length);
    expect(log.filter((entry) => 'gap' in entry)).toHaveLength(1);
    expect(quietGaps).toEqual([]);
  }, 60_000);
});

describe.skipIf(!installed)("a user's own client (issue 8 item 13)", () => {
  it('refuses a publish within publishTimeoutMs when Redis stops answering', async () => {
    const redis = await server();
    const client = await userClient(redis.url);
    const hub = await broker({ client });
    await hub.publish('c', { data: 'before' });

    redis.freeze();
    cleanups.push(async () => {
      if (redis.running) redis.thaw();
    });
    const settled = await Promise.race([
      hub.publish('c', { data: 'frozen' }).then(
        () => 'resolved',
        (error: unknown) => error,
      ),
      delay(PUBLISH_TIMEOUT_MS + 3000).then(() => 'hung'),
    ]);
    redis.thaw();
    expect(settled).toBeInstanceOf(BrokerUnavailableError);
    expect((settled as Error).message).toMatch(/did not answer within 500 ms/);
  });

  it('refuses a publish at once while Redis is away, and stores nothing of it later', async () => {
    const redis = await server();
    const client = await userClient(redis.url);
    const hub = await broker({ client });
    await hub.publish('c', { data: 'before' });

    await redis.shutdown();
    await until(() => client.status !== 'ready', 'the client to see Redis go');
    const refused = await Promise.race([
      hub.publish('c', { data: 'while-away' }).then(
        () => 'resolved',
        (error: unknown) => error,
      ),
      delay(PUBLISH_TIMEOUT_MS + 3000).then(() => 'hung'),
    ]);
    expect(refused).toBeInstanceOf(BrokerUnavailableError);
    expect((refused as Error).message).toMatch(/not connected/);

    await redis.start();
    await until(() => client.status === 'ready', 'the client to reconnect');
    await hub.publish('c', { data: 'after' });
    const entries = (await client.xrange('sse:c', '-', '+')) as Array<[string, string[]]>;
    expect(entries.map(([, fields]) => JSON.parse(fields[1]!).data)).toEqual(['before', 'after']);
  }, 30_000);

  it('is typed structurally: an ioredis client is a RedisClientLike', () => {
    const client: RedisClientLike = new Redis({ lazyConnect: true });
    client.disconnect();
    expect(client.status).not.toBe('ready');
  });
});

describe.skipIf(!installed)('Redis out of memory (issue 8 item 14)', () => {
  it('says Redis is out of memory (maxmemory, noeviction), and stores nothing', async () => {
    const redis = await server();
    const hub = await broker({ url: redis.url });
    await hub.publish('c', { data: 'fits' });
    const own = await admin(redis);
    await own.config('SET', 'maxmemory-policy', 'noeviction');
    await own.config('SET', 'maxmemory', '1');

    const error = await hub.publish('c', { data: 'too much' }).catch((e: unknown) => e);
    await own.config('SET', 'maxmemory', '0');
    expect(error).toBeInstanceOf(BrokerUnavailableError);
    expect((error as Error).message).toMatch(/out of memory/);
    expect((error as Error).message).toMatch(/maxmemory/);
    expect((error as Error).message).toMatch(/nothing was stored/);
    expect(await own.xlen('sse:c')).toBe(1);
  });
});

describe.skipIf(!installed)('health()', () => {
  it('is down while Redis is stopped or hangs, up when it answers again', async () => {
    const redis = await server();
    const hub = await broker({ url: redis.url });
    expect(await hub.health()).toMatchObject({
      status: 'up',
      details: { broker: 'redis', client: 'ready', reader: 'ready', readerLagMs: 0 },
    });

    await redis.shutdown();
    expect((await hub.health()).status).toBe('down');
    await redis.start();
    await until(async () => (await hub.health()).status === 'up', 'health up after a restart');

    redis.freeze();
    cleanups.push(async () => {
      if (redis.running) redis.thaw();
    });
    const frozen = await hub.health();
    redis.thaw();
    expect(frozen.status).toBe('down');
    expect(frozen.details.error).toMatch(/did not answer|timed out/);
    await until(async () => (await hub.health()).status === 'up', 'health up after a hang');
  }, 30_000);

  it('is degraded while the reader lags behind what was published, up once it caught up', async () => {
    const redis = await server();
    const proxy = await proxyTo(redis);
    const hub = await broker({ url: proxy.url });
    const received: string[] = [];
    const subscription = hub.subscribe('c', (event) => received.push(event.id));
    cleanups.push(async () => subscription.unsubscribe());
    await subscription.ready;
    await hub.publish('c', { data: 'first' });
    expect(received).toHaveLength(1);

    // Only the reader stalls: publishes (and health's own commands) go on.
    proxy.pauseWhere('XREAD');
    const published = await hub.publish('c', { data: 'unread' });
    await until(async () => (await hub.health()).status === 'degraded', 'health degraded');
    const lagging = await hub.health();
    expect(lagging.details).toMatchObject({ client: 'ready', reader: 'ready' });
    expect(lagging.details.readerLagMs).toBeGreaterThan(2000);

    proxy.resume();
    await until(() => received.includes(published.id), 'the reader to catch up');
    expect(await hub.health()).toMatchObject({ status: 'up', details: { readerLagMs: 0 } });
  }, 30_000);

  it('is down at once when the signal is aborted', async () => {
    const redis = await server();
    const hub = await broker({ url: redis.url });
    const health = await hub.health({ signal: AbortSignal.abort(new Error('probe gone')) });
    expect(health).toMatchObject({ status: 'down', details: { error: 'probe gone' } });
  });
});

describe.skipIf(!installed)('exactly-once publish (issue 11 item 3)', () => {
  it('stores a publish whose reply was lost once, when retried with its idempotency key', async () => {
    const redis = await server();
    const proxy = await proxyTo(redis);
    const hub = await broker({ url: proxy.url });
    const own = await admin(redis);
    // Warm: the publish itself reaches Redis as one command, which Redis runs.
    await hub.publish('warm', { data: 'warm' });

    proxy.cutAfter('marker-once');
    const lost = await hub
      .publish('orders', { data: 'marker-once' }, { idempotencyKey: 'order-1' })
      .catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(BrokerUnavailableError);
    // Redis ran it: the reply is what was lost.
    expect(await own.xlen('sse:orders')).toBe(1);

    await until(async () => (await hub.health()).status === 'up', 'the broker to reconnect');
    const retried = await hub.publish(
      'orders',
      { data: 'marker-once' },
      { idempotencyKey: 'order-1' },
    );
    const entries = (await own.xrange('sse:orders', '-', '+')) as Array<[string, string[]]>;
    expect(entries).toHaveLength(1);
    expect(retried).toMatchObject({ id: entries[0]![0], channel: 'orders', data: 'marker-once' });
    expect(Object.isFrozen(retried)).toBe(true);
  }, 30_000);

  it('answers a retry with the first id and event; another key, or none, appends', async () => {
    const redis = await server();
    const hub = await broker({ url: redis.url });
    const own = await admin(redis);
    const first = await hub.publish('c', { data: 'one' }, { idempotencyKey: 'k' });
    const again = await hub.publish('c', { data: 'one, again' }, { idempotencyKey: 'k' });
    expect(again).toEqual(first);
    // The key is per channel.
    const elsewhere = await hub.publish('d', { data: 'one' }, { idempotencyKey: 'k' });
    expect(elsewhere.channel).toBe('d');
    await hub.publish('c', { data: 'two' }, { idempotencyKey: 'k2' });
    await hub.publish('c', { data: 'three' });
    expect(await own.xlen('sse:c')).toBe(3);
  });

  it('remembers a key only for idempotencyWindowMs', async () => {
    const redis = await server();
    const hub = await broker({ url: redis.url, retention: { idempotencyWindowMs: 50 } });
    const own = await admin(redis);
    await hub.publish('c', { data: 'one' }, { idempotencyKey: 'k' });
    await until(async () => (await own.keys('sse:\u0000idem*')).length === 0, 'the key to expire');
    await hub.publish('c', { data: 'one' }, { idempotencyKey: 'k' });
    expect(await own.xlen('sse:c')).toBe(2);
  });

  it('trims by age within the one publish command, with no MULTI', async () => {
    const redis = await server();
    const own = await admin(redis);
    // Entries from the first millisecond of 1970, more than a stream node (100) holds.
    const old = own.pipeline();
    for (let i = 1; i <= 150; i++) old.xadd('sse:aged', `1-${i}`, 'e', '{"data":"old"}');
    await old.exec();
    const hub = await broker({ url: redis.url, retention: { maxAgeMs: 60_000 } });
    const before = await commandCalls(own, 'evalsha');
    await publishMany(hub, 'aged', 0, 3);

    const [[oldest]] = (await own.xrange('sse:aged', '-', '+', 'COUNT', 1)) as unknown as [
      [string],
    ];
    expect(oldest, 'the first node of old entries is trimmed').not.toBe('1-1');
    expect(await own.xlen('sse:aged')).toBeLessThan(153);
    expect((await commandCalls(own, 'evalsha')) - before).toBe(3);
    expect(await commandCalls(own, 'exec')).toBe(0);
  });
});

describe.skipIf(!installed)('many channels (issue 11 item 1)', () => {
  it('joins 500 channels with no UNBLOCK and a few XREADs, and delivers on each', async () => {
    const redis = await server();
    const hub = await broker({ url: redis.url });
    const own = await admin(redis);
    const received = new Map<string, string>();
    const subscriptions = Array.from({ length: 500 }, (_, i) =>
      hub.subscribe(`user:${i}`, (event) => received.set(event.channel, event.id)),
    );
    cleanups.push(async () => subscriptions.forEach((s) => s.unsubscribe()));
    await Promise.all(subscriptions.map((s) => s.ready));
    const ids = new Map<string, string>();
    for (let i = 0; i < 500; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, j) => hub.publish(`user:${i + j}`, { data: 'x' })),
      );
      for (const event of batch) ids.set(event.channel, event.id);
    }
    await until(() => received.size === 500, 'an event on every channel');
    expect(received).toEqual(ids);
    expect(await commandCalls(own, 'client\\|unblock')).toBe(0);
    // The reader's reads grow with the events (up to 1000 a read), not with the channels.
    expect(await commandCalls(own, 'xread')).toBeLessThan(520);
  });
});

import { Cluster, Redis } from 'ioredis';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerUnavailableError, redisBroker, type SseBroker } from '../../src/index.js';
import { RedisCluster, redisClusterInstallable } from '../support/redis-cluster.js';
import { type RedisServer, reportRedisServerAvailability } from '../support/redis-server.js';

// The Redis broker on a real Redis Cluster of the suite's own: 3 masters and 3 replicas on
// loopback ports, torn down by PID after each test. Masters are killed and slots moved while
// instances publish and read; what the listeners receive and what the streams hold are the
// oracles.

const installable = redisClusterInstallable();
reportRedisServerAvailability(installable, 'redis-cluster.e2e-spec');

const WAIT_MS = 30_000;
let cluster: RedisCluster | undefined;
let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.toReversed()) await cleanup();
  cleanups = [];
  await cluster?.kill();
  cluster = undefined;
});

async function clusterBroker(on: RedisCluster): Promise<SseBroker> {
  const broker = redisBroker({ cluster: { nodes: on.seeds }, publishTimeoutMs: 2000 });
  await broker.connect();
  cleanups.push(() => broker.close());
  return broker;
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/** A plain connection to one node (no redirections followed). */
async function nodeClient(node: RedisServer): Promise<Redis> {
  const client = new Redis(node.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  await client.connect();
  cleanups.push(async () => client.disconnect());
  return client;
}

/** The master that holds keys ending with `suffix` (a channel's stream), and their names. */
async function holderOf(on: RedisCluster, suffix: string): Promise<[RedisServer, string[]]> {
  for (const master of await on.masters()) {
    const keys = await (await nodeClient(master)).keys(`*${suffix}`);
    if (keys.length > 0) return [master, keys];
  }
  throw new Error(`no master holds *${suffix}`);
}

/** Publishes until it resolves, retrying with the same idempotency key (a careful producer). */
async function publishSurely(broker: SseBroker, channel: string, data: string): Promise<string> {
  const deadline = Date.now() + WAIT_MS * 2;
  const errors = new Set<string>();
  while (Date.now() < deadline) {
    try {
      return (await broker.publish(channel, { data }, { idempotencyKey: data })).id;
    } catch (error) {
      if (!(error instanceof BrokerUnavailableError)) throw error;
      errors.add((error as Error).message.replace(/\d+/g, 'N'));
      await delay(100);
    }
  }
  throw new Error(`${data} was never acknowledged: ${[...errors].join('\n')}`);
}

/** Two instances: a reader following `orders` (its events' data and gaps), and a writer. */
async function followOrders(on: RedisCluster) {
  const reader = await clusterBroker(on);
  const writer = await clusterBroker(on);
  const received: string[] = [];
  const gaps: string[] = [];
  const subscription = reader.subscribe(
    'orders',
    (event) => received.push(String(event.data)),
    (reason) => gaps.push(reason),
  );
  cleanups.push(async () => subscription.unsubscribe());
  await subscription.ready;
  return { writer, received, gaps };
}

/** The data of every event a stream holds, read through the cluster. */
async function storedData(on: RedisCluster, key: string): Promise<unknown[]> {
  const client = new Cluster(on.seeds);
  client.on('error', () => undefined);
  cleanups.push(async () => client.disconnect());
  const entries = (await client.xrange(key, '-', '+')) as Array<[string, string[]]>;
  return entries.map(([, fields]) => JSON.parse(fields[1]!).data);
}

describe.skipIf(!installable)('the Redis broker on a Redis Cluster', () => {
  it('spreads channels over every shard and delivers each publish once to another instance', async () => {
    cluster = await RedisCluster.launch();
    const reader = await clusterBroker(cluster);
    const writer = await clusterBroker(cluster);
    const channels = Array.from({ length: 40 }, (_, i) => `user:${i}`);
    const received = new Map<string, string[]>();
    const subscriptions = channels.map((channel) =>
      reader.subscribe(channel, (event) => {
        received.set(channel, [...(received.get(channel) ?? []), event.id]);
      }),
    );
    cleanups.push(async () => subscriptions.forEach((s) => s.unsubscribe()));
    await Promise.all(subscriptions.map((s) => s.ready));
    const ids = new Map<string, string[]>();
    for (const channel of channels) {
      ids.set(channel, [(await writer.publish(channel, { data: channel })).id]);
    }
    await until(() => received.size === channels.length, 'an event on every channel');
    expect(received).toEqual(ids);
    for (const master of await cluster.masters()) {
      expect(await (await nodeClient(master)).dbsize(), `keys on ${master.port}`).toBeGreaterThan(
        0,
      );
    }
    expect(await reader.health()).toMatchObject({ status: 'up' });
  }, 90_000);

  it('loses no acknowledged event and duplicates none when the master of a channel is killed', async () => {
    cluster = await RedisCluster.launch();
    const { writer, received, gaps } = await followOrders(cluster);

    const acknowledged: string[] = [];
    let recovered: Promise<void> | undefined;
    for (let n = 0; n < 60; n++) {
      if (n === 30) {
        // The master crashes; its replica takes over; the crashed node comes back on its data
        // and rejoins as the new master's replica (until then, no publish there is replicated,
        // and none is acknowledged: the producer retries with the same key).
        const [master] = await holderOf(cluster, 'orders');
        await master.crash();
        const current = cluster;
        recovered = (async () => {
          await current.waitForMasters(3);
          await master.start();
          await current.waitUntilOk();
          await current.waitForReplicasInSync();
        })();
      }
      await publishSurely(writer, 'orders', `o${n}`);
      acknowledged.push(`o${n}`);
    }
    await recovered;
    await until(() => received.length >= acknowledged.length, 'every acknowledged event');
    expect(received).toEqual(acknowledged);
    expect(gaps).toEqual([]);

    const [, [key]] = await holderOf(cluster, 'orders');
    expect(await storedData(cluster, key!)).toEqual(acknowledged);
  }, 120_000);

  it('loses and duplicates no event when the slot of a channel in use moves to another master', async () => {
    cluster = await RedisCluster.launch();
    const { writer, received, gaps } = await followOrders(cluster);
    await publishSurely(writer, 'orders', 'o0');

    const [from, [key]] = await holderOf(cluster, 'orders');
    const to = (await cluster.masters()).find((master) => master !== from)!;
    const slot = await cluster.slotOf(key!);
    const acknowledged = ['o0'];
    let moved: Promise<void> | undefined;
    for (let n = 1; n < 80; n++) {
      // The slot moves while the producer publishes and the reader reads it.
      if (n === 20) moved = cluster.moveSlot(slot, from, to);
      await publishSurely(writer, 'orders', `o${n}`);
      acknowledged.push(`o${n}`);
    }
    await moved;
    await until(() => received.length >= acknowledged.length, 'every acknowledged event');
    expect(received).toEqual(acknowledged);
    expect(gaps).toEqual([]);
    expect((await holderOf(cluster, 'orders'))[0]).toBe(to);

    expect(await storedData(cluster, key!)).toEqual(acknowledged);
  }, 120_000);
});

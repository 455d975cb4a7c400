import { Cluster } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisCluster, redisClusterInstallable } from '../support/redis-cluster.js';
import { reportRedisServerAvailability } from '../support/redis-server.js';

// The ground for the Redis Cluster broker (issue 11 item 2, not built yet): a real cluster of
// the suite's own, 3 masters and 3 replicas on loopback ports, torn down by PID after each test.

const installable = redisClusterInstallable();
reportRedisServerAvailability(installable, 'redis-cluster.e2e-spec');

let cluster: RedisCluster | undefined;
afterEach(async () => {
  await cluster?.kill();
  cluster = undefined;
});

describe.skipIf(!installable)("a Redis Cluster of the suite's own", () => {
  it('serves every slot from 3 masters, and promotes a replica when a master is killed', async () => {
    cluster = await RedisCluster.launch();
    expect(await cluster.masters()).toHaveLength(3);
    const client = new Cluster(cluster.seeds, { clusterRetryStrategy: () => 100 });
    client.on('error', () => undefined);
    try {
      // Keys on every shard: tags whose slots are far apart.
      const keys = ['{a}k', '{b}k', '{c}k', '{d}k', '{e}k', '{f}k'];
      for (const key of keys) await client.set(key, key);
      const victim = (await cluster.masters())[0]!;
      await victim.kill();
      await cluster.waitForMasters(3);
      expect(await cluster.masters()).not.toContain(victim);
      // Replication is asynchronous: what was acknowledged before the kill is read back here
      // because the writes above were replicated before the kill (WAIT would make it certain).
      await client.set('{a}after', 'x');
      expect(await client.get('{a}after')).toBe('x');
    } finally {
      client.disconnect();
    }
    const pids = cluster.nodes.map((node) => node.pid);
    await cluster.kill();
    expect(
      cluster.nodes.filter((node) => node.running),
      `nodes ${pids.join(',')}`,
    ).toEqual([]);
  }, 90_000);
});

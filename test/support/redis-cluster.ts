import { Redis } from 'ioredis';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort, RedisServer } from './redis-server.js';

const run = promisify(execFile);
/** The Debian package's client, which creates the cluster (`--cluster create`). */
export const REDIS_CLI_BIN = '/usr/bin/redis-cli';
/** How long the cluster may take to agree on its slots after creation or a failover. */
const READY_TIMEOUT_MS = 30_000;
/** Short, so that a killed master's replica is promoted within a test. */
const NODE_TIMEOUT_MS = 1000;

/** Whether both binaries a cluster needs are installed. */
export function redisClusterInstallable(): boolean {
  return existsSync(REDIS_CLI_BIN) && existsSync('/usr/bin/redis-server');
}

/**
 * A Redis Cluster of the test's own: `masters` masters with one replica each, every node a
 * `redis-server --cluster-enabled yes` child process on a free loopback port (its own data
 * directory, AOF fsynced on every write), joined by `redis-cli --cluster create`. Stopped by
 * the PIDs of its nodes.
 *
 * @example
 * ```ts
 * const cluster = await RedisCluster.launch();
 * new Cluster(cluster.seeds);
 * await cluster.kill(); // in afterEach
 * ```
 */
export class RedisCluster {
  private constructor(readonly nodes: readonly RedisServer[]) {}

  static async launch(masters = 3): Promise<RedisCluster> {
    const nodes: RedisServer[] = [];
    const cluster = new RedisCluster(nodes);
    try {
      for (let i = 0; i < masters * 2; i++) {
        nodes.push(
          await RedisServer.launch([
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            // Its bus on a free port too (by default port + 10000, which may be taken).
            '--cluster-port',
            String(await freePort()),
            '--cluster-node-timeout',
            String(NODE_TIMEOUT_MS),
            // Replicas sync at once (not 5 s later): one that never synced cannot take over.
            '--repl-diskless-sync-delay',
            '0',
          ]),
        );
      }
      await run(
        REDIS_CLI_BIN,
        [
          '--cluster',
          'create',
          ...nodes.map((node) => `127.0.0.1:${node.port}`),
          '--cluster-replicas',
          '1',
          '--cluster-yes',
        ],
        { timeout: READY_TIMEOUT_MS },
      );
      await cluster.waitUntilOk();
      await cluster.waitForReplicasInSync();
    } catch (error) {
      await cluster.kill();
      throw error;
    }
    return cluster;
  }

  /** Where a cluster client starts: every node. */
  get seeds(): Array<{ host: string; port: number }> {
    return this.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
  }

  /** `CLUSTER INFO` of one node, as `redis-cli` prints it. */
  async info(node: RedisServer): Promise<string> {
    const { stdout } = await run(REDIS_CLI_BIN, ['-p', String(node.port), 'cluster', 'info']);
    return stdout;
  }

  /** The running nodes that are masters now (after a failover, a former replica is one). */
  async masters(): Promise<RedisServer[]> {
    const masters: RedisServer[] = [];
    for (const node of this.nodes.filter((n) => n.running)) {
      const { stdout } = await run(REDIS_CLI_BIN, ['-p', String(node.port), 'role']);
      if (stdout.startsWith('master')) masters.push(node);
    }
    return masters;
  }

  /** Resolves once every replica's link to its master is up (its first sync done). */
  async waitForReplicasInSync(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const roles = await Promise.all(
        this.nodes
          .filter((n) => n.running)
          .map(async (node) => {
            const { stdout } = await run(REDIS_CLI_BIN, [
              '-p',
              String(node.port),
              'info',
              'replication',
            ]);
            return stdout;
          }),
      );
      const replicas = roles.filter((info) => info.includes('role:slave'));
      if (replicas.every((info) => info.includes('master_link_status:up'))) return;
      if (Date.now() > deadline)
        throw new Error(`replicas not in sync after ${READY_TIMEOUT_MS} ms`);
      await delay(100);
    }
  }

  /** Resolves once every running node says `cluster_state:ok` (all slots served). */
  async waitUntilOk(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const states = await Promise.all(
        this.nodes.filter((n) => n.running).map((node) => this.info(node).catch(() => '')),
      );
      if (states.every((state) => state.includes('cluster_state:ok'))) return;
      if (Date.now() > deadline) {
        throw new Error(
          `the cluster is not ok after ${READY_TIMEOUT_MS} ms:\n${states.join('\n')}`,
        );
      }
      await delay(100);
    }
  }

  /**
   * Resolves once `count` running nodes are masters and every running node says the cluster
   * is ok: after a master was killed, once its replica took over.
   */
  async waitForMasters(count: number): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while ((await this.masters()).length !== count) {
      if (Date.now() > deadline) {
        const running = this.nodes.find((n) => n.running)!;
        const { stdout } = await run(REDIS_CLI_BIN, [
          '-p',
          String(running.port),
          'cluster',
          'nodes',
        ]);
        throw new Error(
          `no ${count} masters after ${READY_TIMEOUT_MS} ms:\n${stdout}\n${running.output.slice(-3000)}`,
        );
      }
      await delay(100);
    }
    await this.waitUntilOk();
  }

  /**
   * Moves one hash slot, with its keys, from one master to another, the way
   * `redis-cli --cluster reshard` does (IMPORTING/MIGRATING, MIGRATE in batches, SETSLOT NODE),
   * while clients go on using it (ASK and TRYAGAIN meanwhile, MOVED after).
   */
  async moveSlot(slot: number, from: RedisServer, to: RedisServer): Promise<void> {
    const cli = async (node: RedisServer, ...args: string[]) =>
      (await run(REDIS_CLI_BIN, ['-p', String(node.port), ...args])).stdout.trim();
    const fromId = await cli(from, 'cluster', 'myid');
    const toId = await cli(to, 'cluster', 'myid');
    await cli(to, 'cluster', 'setslot', String(slot), 'importing', fromId);
    await cli(from, 'cluster', 'setslot', String(slot), 'migrating', toId);
    // Keys are binary (the broker's idempotency keys hold NUL bytes): not through argv.
    const source = new Redis(from.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    source.on('error', () => undefined);
    await source.connect();
    try {
      for (;;) {
        const keys = (await source.call('CLUSTER', 'GETKEYSINSLOT', slot, 10)) as string[];
        if (keys.length === 0) break;
        await source.call('MIGRATE', '127.0.0.1', to.port, '', 0, 5000, 'KEYS', ...keys);
      }
    } finally {
      source.disconnect();
    }
    for (const node of [to, from, ...(await this.masters())]) {
      await cli(node, 'cluster', 'setslot', String(slot), 'node', toId);
    }
  }

  /** The slot of a key (`CLUSTER KEYSLOT`). */
  async slotOf(key: string): Promise<number> {
    const { stdout } = await run(REDIS_CLI_BIN, [
      '-p',
      String(this.nodes.find((n) => n.running)!.port),
      'cluster',
      'keyslot',
      key,
    ]);
    return Number(stdout.trim());
  }

  /** Kills every node by its PID and removes their data. */
  async kill(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.kill()));
  }
}

/**
 * The cluster benchmark's Redis Cluster: the test suite's own (test/support/redis-cluster.ts: 3
 * masters + 3 replicas, `redis-server --cluster-enabled yes` on free loopback ports, stopped by
 * PID), set up for a measurement rather than for fault tests, and read for its slot map.
 */
import { Redis } from 'ioredis';
import { RedisCluster, redisClusterInstallable } from '../../test/support/redis-cluster.js';

export { redisClusterInstallable };

/**
 * What the fault tests want and a measurement does not. Every write fsynced to the AOF would
 * be most of redis-server's CPU per event (the shared Redis it is compared with persists
 * nothing: `appendonly no`, `save ""`), and a node timeout of 1 s lets a node that a busy
 * 2-core machine starves for a second be failed over in the middle of the run (15 s is Redis'
 * default).
 */
const MEASUREMENT_CONFIG: ReadonlyArray<[string, string]> = [
  ['appendonly', 'no'],
  ['save', ''],
  ['cluster-node-timeout', '15000'],
];

/** One node of the cluster, as its slot map says. */
export interface BenchClusterNode {
  port: number;
  pid: number;
  role: 'master' | 'replica';
  /** A replica's master. */
  masterPort?: number;
}

/** Where the keys under a prefix are: each master's partitions (hash tags) and channels. */
export interface KeyPlacement {
  /** Master port → the channels whose stream it holds. */
  channels: Map<number, string[]>;
  /** Master port → the partitions' feeds it holds (their hash tags). */
  feeds: Map<number, string[]>;
}

export class BenchCluster {
  private constructor(
    private readonly cluster: RedisCluster,
    /** A plain connection to each node (no redirection followed), by port. */
    private readonly clients: Map<number, Redis>,
    readonly nodes: readonly BenchClusterNode[],
    /** The slot ranges each master serves: [first, last, master port]. */
    private readonly slots: ReadonlyArray<[number, number, number]>,
  ) {}

  /** Starts the cluster, applies {@link MEASUREMENT_CONFIG} to every node, reads its slot map. */
  static async launch(): Promise<BenchCluster> {
    const cluster = await RedisCluster.launch();
    const clients = new Map<number, Redis>();
    try {
      for (const node of cluster.nodes) {
        const client = new Redis(node.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
        client.on('error', () => undefined);
        await client.connect();
        clients.set(node.port, client);
        for (const [name, value] of MEASUREMENT_CONFIG) await client.config('SET', name, value);
      }
      // Each node's own ROLE (a node's view of the others' roles may lag just after creation).
      const slots: Array<[number, number, number]> = [];
      const nodes: BenchClusterNode[] = [];
      for (const node of cluster.nodes) {
        const client = clients.get(node.port)!;
        const role = (await client.call('ROLE')) as [string, ...unknown[]];
        if (role[0] === 'master') {
          nodes.push({ port: node.port, pid: node.pid!, role: 'master' });
          const ranges = (await client.call('CLUSTER', 'SLOTS')) as Array<
            [number, number, [string, number, string]]
          >;
          for (const [first, last, master] of ranges) {
            if (master[1] === node.port) slots.push([first, last, node.port]);
          }
        } else {
          nodes.push({
            port: node.port,
            pid: node.pid!,
            role: 'replica',
            masterPort: Number(role[2]),
          });
        }
      }
      const masterPorts = new Set(nodes.filter((n) => n.role === 'master').map((n) => n.port));
      const served = slots.reduce((n, [first, last]) => n + last - first + 1, 0);
      if (
        served !== 16_384 ||
        nodes.some((n) => n.role === 'replica' && !masterPorts.has(n.masterPort!))
      ) {
        throw new Error(`the cluster is not settled: ${JSON.stringify({ nodes, slots })}`);
      }
      // Masters first, each followed by its replicas, in port order: a stable table.
      nodes.sort(
        (a, b) => (a.masterPort ?? a.port) - (b.masterPort ?? b.port) || (a.masterPort ? 1 : -1),
      );
      return new BenchCluster(cluster, clients, nodes, slots);
    } catch (error) {
      for (const client of clients.values()) client.disconnect();
      await cluster.kill();
      throw error;
    }
  }

  /** Where a cluster client starts: every node. */
  get seeds(): Array<{ host: string; port: number }> {
    return this.cluster.seeds;
  }

  get masters(): BenchClusterNode[] {
    return this.nodes.filter((n) => n.role === 'master');
  }

  /** The master that serves a key, from `CLUSTER KEYSLOT` and the slot map. */
  async masterOf(key: string): Promise<number> {
    const slot = Number(
      await this.clients.get(this.nodes[0]!.port)!.call('CLUSTER', 'KEYSLOT', key),
    );
    const range = this.slots.find(([first, last]) => slot >= first && slot <= last);
    if (range === undefined) throw new Error(`slot ${slot} (of "${key}") is served by no master`);
    return range[2];
  }

  /**
   * Every key under `prefix`, read from each master itself: `{<prefix>p<k>}` is partition k's
   * feed, `{<prefix>p<k>}<channel>` a channel's stream (see redisBroker's cluster mode).
   */
  async placement(prefix: string): Promise<KeyPlacement> {
    const channels = new Map<number, string[]>();
    const feeds = new Map<number, string[]>();
    for (const master of this.masters) {
      const client = this.clients.get(master.port)!;
      channels.set(master.port, []);
      feeds.set(master.port, []);
      let cursor = '0';
      // Bounded: a few hundred keys.
      for (let i = 0; i < 10_000; i++) {
        const [next, keys] = await client.scan(cursor, 'MATCH', `{${prefix}*`, 'COUNT', 1000);
        for (const key of keys) {
          const close = key.indexOf('}');
          if (close === key.length - 1) feeds.get(master.port)!.push(key);
          else channels.get(master.port)!.push(key.slice(close + 1));
        }
        cursor = next;
        if (cursor === '0') break;
      }
    }
    return { channels, feeds };
  }

  /** Kills every node by its PID and removes its data. */
  async kill(): Promise<void> {
    for (const client of this.clients.values()) client.disconnect();
    this.clients.clear();
    await this.cluster.kill();
  }
}

/**
 * Issue 11: the hub on a Redis Cluster. 3 instances × 1,000 clients over channels spread on every
 * shard, all three instances publishing; the same load on one Redis for contrast.
 *
 *   npx tsc -p bench/tsconfig.json && node bench/dist/bench/cluster.js [--quick]
 *       [--clients 1000] [--channels 300] [--events 2000] [--paced-events 1000] [--rate 200]
 *       [--rows cluster,cluster-ack0,single] [--partitions 8] [--redis-url redis://127.0.0.1:6379] [--out FILE]
 *
 * A private cluster (lib/bench-cluster.ts: the test suite's 3 masters + 3 replicas on free
 * loopback ports, persistence off as on the shared Redis) is started; the broker's partitions (hash
 * tags with evenly spaced slots) split 3/3/2 over the masters, and once the warm-up
 * made every channel's stream, each master is read for the channels it holds: all three must
 * hold some. Each row starts 3 instances (servers/nest-hub-cluster.ts, core 0) and one load
 * generator (cluster-load.ts, core 1) with `--clients` streams per instance, publishes a warm-up
 * (one event per channel), and measures:
 * 1. idle, 2 s with every stream open: what the redis-servers use doing nothing;
 * 2. full speed: each instance publishes `--events` events (one per macrotask, not awaited);
 * 3. paced: each instance publishes `--paced-events` at `--rate` events/s.
 * Per phase: deliveries/s, latency publish → client (p50/p99, by shard), the broker hop, the
 * CPU of every redis-server per event of its shard (from /proc/<pid>/stat), the instances' CPU;
 * over the run, per client, the events lost and duplicated (both must be 0). Rows: `cluster`
 * (`replicasToAck: 1`, the default), `cluster-ack0` (`replicasToAck: 0`), `single` (the shared
 * Redis, with a key prefix of its own, deleted after).
 *
 * Bounded: it stops by itself (about a minute; at most `RUN_LIMIT_MS`), and stops only the
 * processes it started, by PID, also on failure and on SIGINT.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchCluster, redisClusterInstallable } from './lib/bench-cluster.js';
import {
  type ClusterOutcome,
  type ClusterRow,
  type ClusterRowKey,
  clusterReport,
  type LatencyView,
  type PhaseResult,
  type RedisNodeCpu,
  type WindowResult,
} from './lib/cluster-report.js';
import { assertLoopback, connectRedisAdmin, type RedisAdmin } from './lib/redis-admin.js';
import { RpcChild, startTracked } from './lib/rpc.js';
import type { PublishResult, ServerStats } from './lib/server-kit.js';
import { ProcSampler } from './lib/storm-sampler.js';

const here = dirname(fileURLToPath(import.meta.url));

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    /** Streams per instance. */
    clients: { type: 'string' },
    channels: { type: 'string' },
    /** Events each instance publishes at full speed. */
    events: { type: 'string' },
    'paced-events': { type: 'string' },
    /** Events per second each instance publishes in the paced phase. */
    rate: { type: 'string' },
    rows: { type: 'string' },
    /** Rounds of one event per channel before anything is measured (JIT, connections, pools). */
    'warmup-rounds': { type: 'string' },
    /** A row during which other processes used more cores than this is run again… */
    'max-others': { type: 'string' },
    /** …at most this many more times; the least disturbed attempt is kept. */
    retries: { type: 'string' },
    partitions: { type: 'string' },
    'redis-url': { type: 'string' },
    out: { type: 'string' },
    'server-flags': { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});

const INSTANCES = ['A', 'B', 'C'] as const;
const clientsPerInstance = Number(flags.clients ?? (flags.quick ? 200 : 1000));
const channels = Number(flags.channels ?? 300);
const fullEvents = Number(flags.events ?? (flags.quick ? 300 : 2000));
const pacedEvents = Number(flags['paced-events'] ?? (flags.quick ? 200 : 1000));
const rate = Number(flags.rate ?? 200);
const partitions = Number(flags.partitions ?? 8);
const warmupRounds = Number(flags['warmup-rounds'] ?? 5);
const maxOthers = Number(flags['max-others'] ?? 0.5);
const retries = Number(flags.retries ?? 1);
const rowKeys = (flags.rows ?? 'cluster,cluster-ack0,single').split(',') as ClusterRowKey[];
const redisUrl = flags['redis-url'] ?? 'redis://127.0.0.1:6379';
const EVENT_SIZE = 100;
const OPEN_CONCURRENCY = 200;
const IDLE_MS = 2000;
/** Every row's deliveries must be in within this after its publishing ended. */
const COLLECT_TIMEOUT_MS = 30_000;
/** The whole run, cluster start and every row: past this, it cleans up and exits 1. */
const RUN_LIMIT_MS = 240_000;
const runId = `${process.pid}-${Date.now().toString(36)}`;

const say = (line: string) => console.error(`cluster: ${line}`);
const log = (line: string) => {
  if (flags.verbose || /error|warn|exception|fail/i.test(line)) console.error(line);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const uptime = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

function fail(message: string): never {
  console.error(`cluster: ${message}`);
  process.exit(1);
}
for (const key of rowKeys) {
  if (!['cluster', 'cluster-ack0', 'single'].includes(key)) {
    fail(`--rows: cluster, cluster-ack0 or single, not "${key}"`);
  }
}
if (!(Number.isInteger(retries) && retries >= 0)) fail('--retries: 0 or more');
if (!(maxOthers >= 0)) fail('--max-others: a number of cores');
for (const [name, v] of Object.entries({
  warmupRounds,
  clientsPerInstance,
  channels,
  fullEvents,
  pacedEvents,
  rate,
  partitions,
})) {
  if (!(Number.isInteger(v) && v > 0)) fail(`${name}: a positive integer, not ${v}`);
}
if (channels < INSTANCES.length) fail('--channels: at least one per instance');
assertLoopback(redisUrl);

const clusterRows = rowKeys.some((k) => k !== 'single');
if (clusterRows && !redisClusterInstallable()) {
  // A cluster of one's own needs the binaries; without them there is nothing to measure.
  console.error(
    'cluster: /usr/bin/redis-server and /usr/bin/redis-cli are needed to start a cluster ' +
      '(apt-get install redis-server). Skipped.',
  );
  process.exit(process.env.CI === 'true' ? 1 : 0);
}

const cores = availableParallelism();
const [serverCore, loadCore] = cores >= 2 ? [0, 1] : [0, 0];

// --- what this process started, and its clean-up ----------------------------------------

const live = new Set<RpcChild>();
let cluster: BenchCluster | undefined;
let admin: RedisAdmin | undefined;
const singlePrefixes: string[] = [];

async function start(name: string, script: string, core: number, env: Record<string, string>) {
  const nodeFlags = script.startsWith('servers/')
    ? ['--expose-gc', ...(flags['server-flags']?.split(' ').filter(Boolean) ?? [])]
    : ['--max-old-space-size=2048'];
  return startTracked(live, {
    name,
    script: join(here, script),
    core,
    nodeFlags,
    env,
    raiseFileLimit: true,
    log,
  });
}

/** Set by a signal: no further row starts while the clean-up runs. */
let stopping = false;
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...live].map((c) => c.stop()));
    await cluster?.kill();
    cluster = undefined;
    for (const prefix of singlePrefixes) await admin?.deleteKeys(prefix).catch(() => 0);
    await admin?.close();
    admin = undefined;
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopping = true;
    say(`${signal}: stopping ${live.size} process(es)${cluster ? ' and the cluster' : ''}`);
    void cleanUp().then(() => process.exit(130));
  });
}
const watchdog = setTimeout(() => {
  stopping = true;
  say(`still running after ${RUN_LIMIT_MS / 1000} s: stopping everything`);
  void cleanUp().then(() => process.exit(1));
}, RUN_LIMIT_MS);

// --- the layout of one row: who publishes which sequence numbers ------------------------

/** [from, from + total) in `parts` contiguous ranges, as even as they go. */
function split(from: number, total: number, parts: number): Array<[number, number]> {
  return Array.from({ length: parts }, (_, k) => [
    from + Math.floor((k * total) / parts),
    from + Math.floor(((k + 1) * total) / parts),
  ]);
}
const warmupRanges = split(0, channels * warmupRounds, INSTANCES.length);
const fullFrom = channels * warmupRounds;
const fullRanges = split(fullFrom, fullEvents * INSTANCES.length, INSTANCES.length);
const pacedFrom = fullFrom + fullEvents * INSTANCES.length;
const pacedRanges = split(pacedFrom, pacedEvents * INSTANCES.length, INSTANCES.length);
const totalSeqs = pacedFrom + pacedEvents * INSTANCES.length;
/** [from, to, publisher], for the load generator's per-publisher order check. */
const publisherRanges = [warmupRanges, fullRanges, pacedRanges].flatMap((ranges) =>
  ranges.map(([from, to], k): [number, number, number] => [from, to, k]),
);

// --- one row ---------------------------------------------------------------------------

/** A redis-server whose CPU a row reads, and the shard (index) it belongs to. */
interface RedisProcess {
  name: string;
  port: number;
  pid: number;
  role: RedisNodeCpu['role'];
  shard: number;
}

interface RowSetup {
  key: ClusterRowKey;
  keyPrefix: string;
  env: Record<string, string>;
  redis: RedisProcess[];
  /** The master of each shard (cluster rows), in the order of `redis`'s shards. */
  masterPorts?: number[];
  replicasToAck?: number;
}

function hopView(hopsUs: number[]): LatencyView {
  // oxlint-disable-next-line unicorn/no-array-sort -- a fresh array
  const sorted = Float64Array.from(hopsUs).sort();
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! / 1000;
  return {
    deliveries: sorted.length,
    p50Ms: sorted.length ? at(0.5) : NaN,
    p99Ms: sorted.length ? at(0.99) : NaN,
    maxMs: sorted.length ? sorted[sorted.length - 1]! / 1000 : NaN,
  };
}

async function runRow(setup: RowSetup): Promise<ClusterRow> {
  const env = { ...setup.env, BENCH_CLUSTER_CHANNELS: String(channels) };
  const instances = await Promise.all(
    INSTANCES.map((name) =>
      start(`${setup.key} ${name}`, 'servers/nest-hub-cluster.js', serverCore, env),
    ),
  );
  const load = await start(`${setup.key} load`, 'cluster-load.js', loadCore, {});
  const crashed = Promise.race(
    [...instances, load].map((c) =>
      c.exited.then((code) => {
        throw new Error(`${c.name} exited during the run (code ${code})`);
      }),
    ),
  );
  crashed.catch(() => undefined);
  try {
    return await Promise.race([measureRow(setup, instances, load), crashed]);
  } finally {
    await Promise.all([load, ...instances].map((c) => c.stop()));
  }
}

const stats = (c: RpcChild) => c.call<ServerStats>('stats');

async function measureRow(
  setup: RowSetup,
  instances: RpcChild[],
  load: RpcChild,
): Promise<ClusterRow> {
  const openStarted = performance.now();
  const opened = await load.call<{ ms: number; ok: number; statuses: Record<string, number> }>(
    'open',
    {
      ports: instances.map((i) => i.port),
      perInstance: clientsPerInstance,
      concurrency: OPEN_CONCURRENCY,
      channels,
      totalSeqs,
      ranges: publisherRanges,
      publishers: INSTANCES.length,
    },
    120_000,
  );
  const total = clientsPerInstance * INSTANCES.length;
  if (opened.ok !== total) {
    throw new Error(`opened ${opened.ok} of ${total} streams: ${JSON.stringify(opened.statuses)}`);
  }
  for (const instance of instances) {
    for (let waited = 0; (await stats(instance)).subscribers < clientsPerInstance; waited += 50) {
      if (waited > 30_000)
        throw new Error(`${instance.name}: not every subscription ready in 30 s`);
      await sleep(50);
    }
  }
  const openMs = performance.now() - openStarted;
  say(`${setup.key}: ${total} streams open and subscribed in ${(openMs / 1000).toFixed(1)} s`);

  const pids: Record<string, number> = { load: load.pid! };
  instances.forEach((c, k) => (pids[INSTANCES[k]!] = c.pid!));
  for (const r of setup.redis) pids[r.name] = r.pid;
  const shardCount = Math.max(...setup.redis.map((r) => r.shard)) + 1;
  /** Channel → shard: all on shard 0 until the warm-up made the channels' streams. */
  let shardOf: number[] = Array.from({ length: channels }, () => 0);

  const phase = async (
    name: string,
    ranges: Array<[number, number]>,
    intervalMs?: number,
  ): Promise<PhaseResult> => {
    const from = ranges[0]![0];
    const to = ranges[ranges.length - 1]![1];
    const { expected } = await load.call<{ expected: number }>('arm', {
      from,
      to,
      size: EVENT_SIZE,
      shardOf,
    });
    // Empties the hop lists of the instances.
    await Promise.all(instances.map(stats));
    const commandsBefore = setup.key === 'single' ? (await admin!.sample()).commands : NaN;
    const sampler = new ProcSampler(pids);
    const longest = Math.max(...ranges.map(([a, b]) => b - a));
    const published = await Promise.all(
      instances.map((c, k) =>
        c.call<PublishResult>(
          'publish',
          {
            first: ranges[k]![0],
            count: ranges[k]![1] - ranges[k]![0],
            size: EVENT_SIZE,
            intervalMs,
          },
          (intervalMs ?? 0) * longest + 120_000,
        ),
      ),
    );
    const window = await load.call<WindowResult>(
      'collect',
      { timeoutMs: COLLECT_TIMEOUT_MS, shards: shardCount, instances: INSTANCES.length },
      COLLECT_TIMEOUT_MS + 10_000,
    );
    const sampled = sampler.stop();
    const after = await Promise.all(instances.map(stats));
    const commandsAfter = setup.key === 'single' ? (await admin!.sample()).commands : NaN;
    const events = to - from;
    const eventsOnShard = Array.from({ length: shardCount }, () => 0);
    for (let seq = from; seq < to; seq++) eventsOnShard[shardOf[seq % channels]!]!++;
    const hops = after.flatMap((s) => (s.extra.hopsUs ?? []) as number[]);
    const result: PhaseResult = {
      eventsPerInstance: Math.round(events / INSTANCES.length),
      events,
      intervalMs,
      window,
      publishMs: Math.max(...published.map((p) => p.publishMs)),
      settledMs: Math.max(...published.map((p) => p.settledMs ?? p.publishMs)),
      publishErrors: published.reduce((n, p) => n + (p.publishErrors ?? 0), 0),
      publishErrorSample: published.find((p) => p.publishErrorSample)?.publishErrorSample,
      hop: hopView(hops),
      instances: instances.map((c, k) => {
        const cpu = sampled.processes[INSTANCES[k]!]!;
        const deliveries = window.perInstance[k]?.deliveries ?? 0;
        return {
          name: INSTANCES[k]!,
          cpuMs: cpu.cpuMs,
          cores: cpu.meanCores,
          deliveries,
          usPerDelivery: (cpu.cpuMs * 1000) / deliveries,
          usPerEvent: (cpu.cpuMs * 1000) / events,
        };
      }),
      loadCores: sampled.processes.load!.meanCores,
      redis: setup.redis.map((r) => {
        const cpuMs = sampled.processes[r.name]!.cpuMs;
        const onShard = eventsOnShard[r.shard]!;
        return { ...r, cpuMs, events: onShard, usPerEvent: (cpuMs * 1000) / onShard };
      }),
      redisCommands: commandsAfter - commandsBefore,
      othersCores: sampled.othersCores,
      seconds: sampled.seconds,
    };
    if (window.missing > 0 || window.timedOut) {
      say(
        `${setup.key} ${name}: ${window.missing} of ${expected} deliveries missing after ${COLLECT_TIMEOUT_MS} ms`,
      );
    }
    say(
      `${setup.key} ${name}: ${Math.round(window.deliveriesPerSecond)} deliveries/s, p50 ${window.p50Ms.toFixed(2)} ms, ` +
        `p99 ${window.p99Ms.toFixed(2)} ms, hop p50 ${result.hop.p50Ms.toFixed(2)} ms, ` +
        // Before the warm-up, which shard holds a channel is not known yet.
        (name === 'warm-up'
          ? ''
          : `redis ${result.redis.map((n) => `${n.name} ${n.usPerEvent.toFixed(1)}`).join(', ')} µs/event, `) +
        `${result.publishErrors} publish errors, others ${sampled.othersCores.toFixed(2)} cores`,
    );
    return result;
  };

  const warmup = await phase('warm-up', warmupRanges);
  const shards = await placeChannels(setup);
  shardOf = shards.shardOf;

  const idleSampler = new ProcSampler(Object.fromEntries(setup.redis.map((r) => [r.name, r.pid])));
  await sleep(IDLE_MS);
  const idleSampled = idleSampler.stop();
  const idle = {
    seconds: idleSampled.seconds,
    redisMsPerSecond:
      Object.values(idleSampled.processes).reduce((n, p) => n + p.cpuMs, 0) / idleSampled.seconds,
    othersCores: idleSampled.othersCores,
  };

  const full = await phase('full speed', fullRanges);
  const paced = await phase('paced', pacedRanges, 1000 / rate);
  const tally = await load.call<ClusterRow['tally']>('tally', { upTo: totalSeqs }, 60_000);
  await load.call('closeAll', {}, 60_000);
  return {
    key: setup.key,
    keyPrefix: setup.keyPrefix,
    partitions: setup.key === 'single' ? undefined : partitions,
    replicasToAck: setup.replicasToAck,
    shards: shards.shards,
    openMs,
    idle,
    warmup,
    full,
    paced,
    tally,
    keys: setup.key === 'single' ? await deleteSingleKeys(setup.keyPrefix) : { left: 0 },
    attempts: 1,
    othersCores: Math.max(full.othersCores, paced.othersCores),
  };
}

/** Deletes a single-Redis row's keys, and says how many there were and are left. */
async function deleteSingleKeys(prefix: string): Promise<ClusterRow['keys']> {
  const deleted = await admin!.deleteKeys(prefix);
  return { deleted, left: (await admin!.keys(prefix)).length };
}

/**
 * Where the warm-up put the channels: on the cluster, read from each master (the keys it holds
 * under the row's prefix); every master must hold some, or the row measures fewer shards than
 * it says.
 */
async function placeChannels(setup: RowSetup): Promise<{
  shardOf: number[];
  shards: ClusterRow['shards'];
}> {
  if (setup.masterPorts === undefined) {
    return {
      shardOf: Array.from({ length: channels }, () => 0),
      shards: [{ port: setup.redis[0]!.port, partitions: 1, channels }],
    };
  }
  const placement = await cluster!.placement(setup.keyPrefix);
  const shardOf: number[] = Array.from({ length: channels }, () => -1);
  const shards = setup.masterPorts.map((port, shard) => {
    const held = placement.channels.get(port) ?? [];
    for (const name of held) shardOf[Number(name.slice(2))] = shard;
    return {
      port,
      replicaPort: setup.redis.find((r) => r.shard === shard && r.role === 'replica')?.port,
      partitions: placement.feeds.get(port)?.length ?? 0,
      channels: held.length,
    };
  });
  const empty = shards.filter((s) => s.channels === 0);
  if (empty.length > 0) {
    throw new Error(`masters ${empty.map((s) => s.port).join(', ')} hold no channel of the run`);
  }
  const nowhere = shardOf.findIndex((s) => s === -1);
  if (nowhere !== -1) throw new Error(`channel ch${nowhere} is on no master after the warm-up`);
  say(
    `${setup.key}: channels per master ${shards.map((s) => `${s.port}: ${s.channels} (${s.partitions} partitions)`).join(', ')}`,
  );
  return { shardOf, shards };
}

/** Cores other work used during a row's measured phases (the more disturbed of the two). */
function disturbance(outcome: ClusterOutcome): number {
  return 'error' in outcome ? 0 : Math.max(0, outcome.full.othersCores, outcome.paced.othersCores);
}

/** A row's instances' environment and the redis-servers it reads; a key prefix per attempt. */
async function setUpRow(key: ClusterRowKey, attempt: number): Promise<RowSetup> {
  if (key === 'single') {
    if (admin === undefined) throw new Error(`Redis at ${redisUrl} is unreachable`);
    const keyPrefix = `bench:cluster:${runId}-single-${attempt}:`;
    singlePrefixes.push(keyPrefix);
    return {
      key,
      keyPrefix,
      env: { BENCH_CLUSTER_REDIS_URL: redisUrl, BENCH_CLUSTER_KEY_PREFIX: keyPrefix },
      redis: [
        {
          name: 'redis',
          port: Number(new URL(redisUrl).port || 6379),
          pid: admin.processId,
          role: 'single',
          shard: 0,
        },
      ],
    };
  }
  if (cluster === undefined) throw new Error(clusterError ?? 'the cluster is not running');
  const c = cluster;
  // Any prefix: the broker spreads its partitions' slots evenly (3/3/2 masters for 8), which the
  // placement check after the warm-up confirms.
  const prefix = `bench:cluster:${runId}-${key}-${attempt}:`;
  say(`${key}: key prefix ${prefix}`);
  const masterPorts = c.masters.map((m) => m.port);
  return {
    key,
    keyPrefix: prefix,
    env: {
      BENCH_CLUSTER_NODES: c.nodes.map((n) => n.port).join(','),
      BENCH_CLUSTER_KEY_PREFIX: prefix,
      BENCH_CLUSTER_PARTITIONS: String(partitions),
      ...(key === 'cluster-ack0' ? { BENCH_CLUSTER_REPLICAS_TO_ACK: '0' } : {}),
    },
    redis: c.nodes.map((n) => ({
      name: `${n.role === 'master' ? 'm' : 'r'}${n.port}`,
      port: n.port,
      pid: n.pid,
      role: n.role,
      shard: masterPorts.indexOf(n.masterPort ?? n.port),
    })),
    masterPorts,
    replicasToAck: key === 'cluster-ack0' ? 0 : 1,
  };
}

// --- the run ---------------------------------------------------------------------------

const loadBefore = uptime();
const startedAt = new Date();
const began = performance.now();
say(
  `${INSTANCES.length} instances × ${clientsPerInstance} streams on ${channels} channels; rows ${rowKeys.join(', ')}; load average ${loadBefore}`,
);

const outcomes: ClusterOutcome[] = [];
let clusterStartMs = NaN;
let singleInfo = '';
let clusterError: string | undefined;
try {
  if (rowKeys.includes('single')) {
    try {
      admin = await connectRedisAdmin(redisUrl);
      singleInfo = `Redis ${admin.version} at ${redisUrl} (pid ${admin.processId})`;
    } catch (error) {
      say(
        `Redis at ${redisUrl} is unreachable (${(error as Error).message}): the single row fails`,
      );
    }
  }
  if (clusterRows) {
    const t0 = performance.now();
    try {
      cluster = await BenchCluster.launch();
    } catch (error) {
      clusterError = `the cluster did not start: ${error instanceof Error ? error.message : String(error)}`;
      say(clusterError);
    }
    clusterStartMs = performance.now() - t0;
  }
  if (cluster !== undefined) {
    say(
      `cluster up in ${(clusterStartMs / 1000).toFixed(1)} s: ${cluster.nodes
        .map(
          (n) =>
            `${n.port} (pid ${n.pid}, ${n.role === 'master' ? 'master' : `replica of ${n.masterPort}`})`,
        )
        .join(', ')}`,
    );
  }
  for (const key of rowKeys) {
    if (stopping) break;
    const started = performance.now();
    let kept: ClusterOutcome | undefined;
    // A row during which other work took much of the machine is run again (a bounded number
    // of times), and the least disturbed attempt is kept; a failure is reported, not retried.
    for (let attempt = 1; attempt <= 1 + retries; attempt++) {
      // A signal's clean-up may be under way (it sets `stopping` from outside this loop).
      if (attempt > 1 && stopping) break;
      let outcome: ClusterOutcome;
      try {
        outcome = await runRow(await setUpRow(key, attempt));
        outcome.attempts = attempt;
      } catch (error) {
        outcome = { key, error: error instanceof Error ? error.message : String(error) };
        say(`${key} FAILED: ${outcome.error}`);
      }
      if (kept === undefined || disturbance(outcome) < disturbance(kept)) kept = outcome;
      if ('error' in outcome || !(disturbance(outcome) > maxOthers)) break;
      if (attempt <= retries) {
        say(
          `${key}: other work used ${disturbance(outcome).toFixed(2)} cores (> ${maxOthers}): running it again`,
        );
      }
    }
    if (kept !== undefined) outcomes.push(kept);
    say(`${key}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
} finally {
  await cleanUp();
  clearTimeout(watchdog);
}

const markdown = clusterReport(outcomes, {
  instances: INSTANCES.length,
  clientsPerInstance,
  channels,
  environment: [
    `${startedAt.toISOString()}, ${((performance.now() - began) / 1000).toFixed(0)} s in all (the cluster started in ${(clusterStartMs / 1000).toFixed(1)} s); load average ${loadBefore} before, ${uptime()} after (the machine is shared)`,
    `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores`,
    `command: \`${['node bench/dist/bench/cluster.js', ...process.argv.slice(2)].join(' ')}\`; the instances on core ${serverCore}, the load generator on core ${loadCore}, the redis-servers not pinned`,
    `the cluster: test/support/redis-cluster.ts's 3 masters + 3 replicas on loopback ports, then \`appendonly no\`, \`save ""\` (as on the shared Redis) and \`cluster-node-timeout 15000\`; \`redisBroker({ cluster: { nodes, partitions: ${partitions} } })\`, the key prefix chosen so that the partitions split evenly over the masters${singleInfo ? `; ${singleInfo}` : ''}`,
    `events of ${EVENT_SIZE} B; phases: warm-up (${f(warmupRounds)} rounds of one event per channel, not measured), full speed (${f(fullEvents)} events per instance, one per macrotask, not awaited), paced (${f(pacedEvents)} per instance at ${f(rate)} events/s each: ${f(rate * INSTANCES.length * ((clientsPerInstance * INSTANCES.length) / channels))} deliveries/s); every redis-server's CPU from /proc/<pid>/stat (in 10 ms ticks), per event published to its shard`,
  ],
});
console.log(markdown);
writeFileSync(join(here, '..', 'cluster.json'), JSON.stringify(outcomes, null, 2));
if (flags.out !== undefined) writeFileSync(resolve(flags.out), markdown);
say(
  `done; numbers in ${join('bench', 'dist', 'cluster.json')}${flags.out ? `, Markdown in ${flags.out}` : ''}`,
);
process.exit(outcomes.some((o) => 'error' in o) ? 1 : 0);

function f(v: number, digits = 0): string {
  return v.toLocaleString('en-US', { maximumFractionDigits: digits });
}

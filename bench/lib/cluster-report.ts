/** What bench/cluster.ts measured (see there), and its Markdown. */

export type ClusterRowKey = 'cluster' | 'cluster-ack0' | 'single';

export const CLUSTER_ROW_LABELS: Record<ClusterRowKey, string> = {
  cluster: 'Redis Cluster, 3 masters + 3 replicas (`replicasToAck: 1`, the default)',
  'cluster-ack0': 'Redis Cluster, `replicasToAck: 0`',
  single: 'one Redis (the shared 127.0.0.1:6379)',
};

export interface LatencyView {
  deliveries: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The load generator's account of one window of sequence numbers. */
export interface WindowResult extends LatencyView {
  expected: number;
  /** Deliveries of the window that had not arrived when it was collected. */
  missing: number;
  seconds: number;
  deliveriesPerSecond: number;
  perShard: LatencyView[];
  perInstance: LatencyView[];
  timedOut: boolean;
}

/** One redis-server of a row: a master (or the single Redis) and what its shard got. */
export interface RedisNodeCpu {
  name: string;
  port: number;
  pid: number;
  role: 'master' | 'replica' | 'single';
  /** The shard it belongs to (index into `ClusterRow.shards`). */
  shard: number;
  cpuMs: number;
  /** Events published to its shard's channels during the phase. */
  events: number;
  usPerEvent: number;
}

export interface PhaseResult {
  eventsPerInstance: number;
  events: number;
  /** Paced phases: one event every `intervalMs` on each instance. */
  intervalMs?: number;
  window: WindowResult;
  /** The slowest instance's publishing, and until its last publish settled (ms). */
  publishMs: number;
  settledMs: number;
  publishErrors: number;
  publishErrorSample?: string;
  /** Publish → the first hub listener call, per event and instance (every instance's). */
  hop: LatencyView;
  instances: Array<{
    name: string;
    cpuMs: number;
    cores: number;
    deliveries: number;
    usPerDelivery: number;
    /** Per event published by any instance: every instance reads every partition's feed. */
    usPerEvent: number;
  }>;
  loadCores: number;
  redis: RedisNodeCpu[];
  /** Commands the single Redis processed meanwhile (from every client: it is shared). */
  redisCommands?: number;
  othersCores: number;
  seconds: number;
}

export interface ClusterRow {
  key: ClusterRowKey;
  keyPrefix: string;
  /** Cluster rows: the partitions and `replicasToAck` the instances ran with. */
  partitions?: number;
  replicasToAck?: number;
  /** Per shard (one for the single Redis): its master, its replica, what it holds. */
  shards: Array<{
    port: number;
    replicaPort?: number;
    partitions: number;
    channels: number;
  }>;
  openMs: number;
  idle: { seconds: number; redisMsPerSecond: number; othersCores: number };
  warmup: PhaseResult;
  full: PhaseResult;
  paced: PhaseResult;
  tally: {
    clients: number;
    events: number;
    lost: number;
    clientsWithLoss: number;
    maxLostPerClient: number;
    duplicated: number;
    clientsWithDuplicates: number;
    maxDuplicatedPerClient: number;
    outOfOrder: number;
    closed: number;
    others: number;
    malformed: number;
    wrongChannel: number;
    wrongSize: number;
    malformedSample: string;
    otherSample: string;
    sample?: Record<string, unknown>;
  };
  keys: { deleted?: number; left: number };
  /** Runs of the row until one was undisturbed enough (this is the least disturbed). */
  attempts: number;
  /** Cores other work used during its measured phases (the more disturbed phase). */
  othersCores: number;
}

export type ClusterOutcome = ClusterRow | { key: ClusterRowKey; error: string };

export interface ClusterReportContext {
  instances: number;
  clientsPerInstance: number;
  channels: number;
  environment: string[];
}

const f = (v: number | undefined, digits = 0) =>
  v !== undefined && Number.isFinite(v)
    ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
    : '–';
const ms = (v: number) => f(v, v < 10 ? 2 : 1);
const ok = (v: number) => (v === 0 ? '0 (met)' : `**${f(v)} (missed)**`);
const latency = (l: LatencyView) => `${ms(l.p50Ms)} / ${ms(l.p99Ms)} / ${ms(l.maxMs)}`;
const byShard = (w: WindowResult) =>
  w.perShard.map((l) => `${ms(l.p50Ms)} / ${ms(l.p99Ms)}`).join(' · ');
const masters = (p: PhaseResult) => p.redis.filter((n) => n.role !== 'replica');
const replicas = (p: PhaseResult) => p.redis.filter((n) => n.role === 'replica');
const allNodesUsPerEvent = (p: PhaseResult) =>
  (p.redis.reduce((n, r) => n + r.cpuMs, 0) * 1000) / p.events;

function phaseRows(label: string, pick: (r: ClusterRow) => PhaseResult, rows: ClusterOutcome[]) {
  const cell = (render: (p: PhaseResult, r: ClusterRow) => string) =>
    rows.map((r) => ('error' in r ? '–' : render(pick(r), r)));
  const line = (metric: string, render: (p: PhaseResult, r: ClusterRow) => string) =>
    `| ${metric} | ${cell(render).join(' | ')} |`;
  return [
    line(
      `${label}: events published (per instance); deliveries`,
      (p) =>
        `${f(p.events)} (${f(p.eventsPerInstance)}); ${f(p.window.deliveries)} of ${f(p.window.expected)}`,
    ),
    line('… deliveries/s', (p) => f(p.window.deliveriesPerSecond)),
    line('… latency publish → client p50 / p99 / max (ms)', (p) => latency(p.window)),
    line('… latency p50 / p99 (ms) by shard', (p) => byShard(p.window)),
    line('… broker hop (publish → hub listener) p50 / p99 / max (ms)', (p) => latency(p.hop)),
    line(
      '… publishing took (s); publish errors',
      (p) =>
        `${f(p.settledMs / 1000, 2)}; ${p.publishErrors === 0 ? '0' : `**${f(p.publishErrors)}** (${p.publishErrorSample ?? ''})`}`,
    ),
    line('… redis-server CPU per event (µs): each master', (p) =>
      masters(p)
        .map((n) => f(n.usPerEvent, 1))
        .join(' / '),
    ),
    line('… … each replica (of the same shard)', (p) =>
      replicas(p).length === 0
        ? '–'
        : replicas(p)
            .map((n) => f(n.usPerEvent, 1))
            .join(' / '),
    ),
    line('… … all redis-servers, per event published', (p) => f(allNodesUsPerEvent(p), 1)),
    line('… server instances: cores A / B / C', (p) =>
      p.instances.map((i) => f(i.cores, 2)).join(' / '),
    ),
    line(
      '… … CPU per event published by any of them (µs; each reads every event, publishes a third, delivers to its streams)',
      (p) => p.instances.map((i) => f(i.usPerEvent, 1)).join(' / '),
    ),
    line('… … the same per delivery to their own streams (µs)', (p) =>
      p.instances.map((i) => f(i.usPerDelivery, 1)).join(' / '),
    ),
    line(
      '… load generator; other work on the machine (cores)',
      (p) => `${f(p.loadCores, 2)}; ${f(p.othersCores, 2)}`,
    ),
  ];
}

/** The section of RESULTS.scale.md. */
export function clusterReport(rows: ClusterOutcome[], context: ClusterReportContext): string {
  const { instances, clientsPerInstance, channels } = context;
  const good = rows.filter((r): r is ClusterRow => !('error' in r));
  const cell = (render: (r: ClusterRow) => string) =>
    rows.map((r) => ('error' in r ? '–' : render(r)));
  const line = (metric: string, render: (r: ClusterRow) => string) =>
    `| ${metric} | ${cell(render).join(' | ')} |`;
  const first = good[0];
  const perChannel = (instances * clientsPerInstance) / channels;
  const out = [
    '## Redis Cluster: 3 instances × 1,000 clients over channels on every shard (issue 11)',
    '',
    ...context.environment.map((l) => `- ${l}`),
    '',
    `${instances} instances (\`servers/nest-hub-cluster.ts\`, each its own process) hold ` +
      `${f(clientsPerInstance)} streams each (${f(instances * clientsPerInstance)} in all, from ` +
      `one load generator, \`cluster-load.ts\`), on ${f(channels)} channels \`ch0\` … ` +
      `\`ch${channels - 1}\`: ${f(perChannel, 1)} streams per channel, each channel on every instance. ` +
      'Every instance publishes on every channel (event `seq` on `ch<seq mod channels>`, each ' +
      'instance its own range of seqs), and every stream must get each event of its channel once. ' +
      'The latency is from the send stamp in the event (taken just before `hub.publish()`) to ' +
      'the socket read that completed its frame; by shard, the shards are in the order of the ' +
      'masters below.',
    '',
    `| Metric | ${rows.map((r) => CLUSTER_ROW_LABELS[r.key]).join(' | ')} |`,
    `|---|${rows.map(() => '---:|').join('')}`,
    line('shards: channels / partitions per master', (r) =>
      r.key === 'single'
        ? `${f(channels)} / 1 (one feed)`
        : `${r.shards.map((s) => s.channels).join(' / ')} channels; ${r.shards.map((s) => s.partitions).join(' / ')} partitions`,
    ),
    line(
      'attempts (kept: the least disturbed); other work during it (cores)',
      (r) => `${r.attempts}; ${f(r.othersCores, 2)}`,
    ),
    line('streams open (all answered 200, every subscription ready) (s)', (r) =>
      f(r.openMs / 1000, 1),
    ),
    ...phaseRows('full speed', (r) => r.full, rows),
    ...phaseRows('paced', (r) => r.paced, rows).map((l, i) =>
      i === 0
        ? l.replace(
            'paced: events',
            `paced (${first?.paced.intervalMs ? f(1000 / first.paced.intervalMs) : '?'} events/s per instance): events`,
          )
        : l,
    ),
    line('idle (streams open, nothing published): redis-servers, all (ms of CPU per s)', (r) =>
      f(r.idle.redisMsPerSecond, 1),
    ),
    line(
      'events lost (must be 0): in all / clients with any / max per client',
      (r) => `${ok(r.tally.lost)} / ${f(r.tally.clientsWithLoss)} / ${f(r.tally.maxLostPerClient)}`,
    ),
    line(
      'events duplicated (must be 0): in all / clients with any / max per client',
      (r) =>
        `${ok(r.tally.duplicated)} / ${f(r.tally.clientsWithDuplicates)} / ${f(r.tally.maxDuplicatedPerClient)}`,
    ),
    line("events out of their publisher's order (must be 0)", (r) => ok(r.tally.outOfOrder)),
    line(
      'frames that are no event (the first); malformed; on a wrong channel; streams closed',
      (r) =>
        `${f(r.tally.others)}${r.tally.others ? ` (\`${JSON.stringify(r.tally.otherSample)}\`)` : ''}; ${f(r.tally.malformed)}; ${f(r.tally.wrongChannel)}; ${f(r.tally.closed)}`,
    ),
    line('events received in all', (r) => f(r.tally.events)),
    line('Redis keys of the run left afterwards', (r) =>
      r.key === 'single'
        ? `${f(r.keys.left)} (${f(r.keys.deleted)} deleted)`
        : 'none (the cluster was removed)',
    ),
    '',
  ];
  for (const r of rows) {
    if ('error' in r) out.push(`**${CLUSTER_ROW_LABELS[r.key]}: failed**: ${r.error}`, '');
  }
  for (const r of good) {
    if (r.tally.sample) {
      out.push(
        `${CLUSTER_ROW_LABELS[r.key]}: first client with an anomaly: \`${JSON.stringify(r.tally.sample)}\``,
        '',
      );
    }
  }
  const clusterRow = good.find((r) => r.key !== 'single');
  if (clusterRow !== undefined) {
    const full = clusterRow.full;
    const paced = clusterRow.paced;
    out.push(
      `Per redis-server, ${CLUSTER_ROW_LABELS[clusterRow.key]} (CPU from \`/proc/<pid>/stat\` of the nodes this run started; key prefix \`${clusterRow.keyPrefix}\`):`,
      '',
      '| node | role | partitions / channels | full speed: events; CPU (ms); µs per event | paced: events; CPU (ms); µs per event |',
      '|---|---|---:|---:|---:|',
      ...full.redis.map((n, i) => {
        const s = clusterRow.shards[n.shard]!;
        const p = paced.redis[i]!;
        return `| ${n.port} | ${n.role === 'replica' ? `replica of ${s.port}` : 'master'} | ${s.partitions} / ${s.channels} | ${f(n.events)}; ${f(n.cpuMs)}; ${f(n.usPerEvent, 1)} | ${f(p.events)}; ${f(p.cpuMs)}; ${f(p.usPerEvent, 1)} |`;
      }),
      '',
    );
  }
  return out.join('\n');
}

/**
 * The hub group: fan-out through `SseHub` (servers/nest-hub.ts) on the memory broker, on
 * Redis, and across two instances that share a channel through Redis.
 */
import type { RedisSample } from './redis-admin.js';
import type { RpcChild } from './rpc.js';
import { PACED_DELIVERIES_PER_SECOND, type CollectResult } from './scenarios.js';
import type { PublishResult, ServerStats } from './server-kit.js';

const WARMUP_EVENTS = 20;
const PACED_EVENTS = 100;
const OPEN_CONCURRENCY = 200;

export type HubVariant = 'hub-memory' | 'hub-redis' | 'hub-cross';

export interface HubInstance {
  /** 'A' publishes; 'B' (cross-instance only) only reads the channel from Redis. */
  name: string;
  rpc: RpcChild;
  port: number;
  core: number;
}

export interface HubSession {
  /** The first one publishes. */
  instances: HubInstance[];
  load: RpcChild;
  /** redis-server's CPU time and commands so far (`INFO`); undefined without Redis. */
  redisSample?: () => Promise<RedisSample>;
}

/** Deliveries and latency of one window, for some of the streams. */
export interface WindowView {
  clients: number;
  deliveries: number;
  seconds: number;
  deliveriesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

type Collected = CollectResult & { byPort?: Record<string, WindowView> };

export interface HubCpu {
  /** CPU each instance used during the window, in ms. */
  serverCpuMs: number[];
  redisCpuMs: number;
  /** Commands Redis processed during the window, from every client (NaN without Redis). */
  redisCommands: number;
  /** In cores (1 = one core busy all along). */
  servers: number;
  load: number;
  redis: number;
  /** Everything else on the machine (it is shared), Redis excluded. */
  others: number;
}

/** The broker hop: publish → the first hub listener call on an instance (see nest-hub.ts). */
export interface HopView {
  events: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface HubWindowResult {
  /** Every stream. */
  all: WindowView;
  /** The broker hop of every event, on every instance; and per instance. */
  hop: HopView;
  hopPerInstance: HopView[];
  /** Per instance, in the order of `HubSession.instances`. */
  perInstance: WindowView[];
  cpu: HubCpu;
  published: PublishResult;
  issues: {
    gaps: number;
    duplicates: number;
    malformed: number;
    others: number;
    wrongSize: number;
    missing: number;
    closedEarly: number;
    timedOut: boolean;
    malformedSample: string;
  };
}

export interface HubTally {
  streams: number;
  exact: number;
  closed: number;
  sample?: string;
}

export interface HubResult {
  variant: HubVariant;
  instances: Array<{ name: string; core: number; clients: number }>;
  eventsPerStream: number;
  size: number;
  measured: HubWindowResult;
  /** The same number of events, each publish awaited before the next. */
  awaited: HubWindowResult;
  paced: HubWindowResult & { deliveriesPerSecondOffered: number };
  warmup: HubWindowResult;
  /** Server CPU per delivery of its own streams (µs), per instance, and for all of them. */
  serverCpuUsPerDelivery: number;
  serverCpuUsPerDeliveryPerInstance: number[];
  /** Redis CPU per event published (µs), at full speed. */
  redisCpuUsPerEvent: number;
  /** Commands Redis processed per event published, at full speed (from every client). */
  redisCommandsPerEvent: number;
  /** The same, each publish awaited. */
  redisCommandsPerEventAwaited: number;
  /** Same shape as the fan-out scenarios' `cpu` (so run.ts's retry rule applies). */
  cpu: HubCpu;
  /** Every stream, over its whole life: exactly the events sent, each once, in order. */
  tally: HubTally[];
  /** Redis keys of the run deleted afterwards, and those left (must be 0); run.ts fills it. */
  redisKeys?: { deleted: number; left: number; prefix: string };
}

const stats = (rpc: RpcChild) => rpc.call<ServerStats>('stats', { collect: false });

async function waitForSubscribers(s: HubSession, counts: number[], timeoutMs: number) {
  const started = performance.now();
  for (;;) {
    const current = await Promise.all(s.instances.map((i) => stats(i.rpc)));
    if (current.every((st, i) => st.subscribers === counts[i])) return;
    if (performance.now() - started > timeoutMs) {
      const seen = current
        .map((st, i) => `${s.instances[i]!.name}: ${st.subscribers}/${counts[i]} subscribed`)
        .join(', ');
      throw new Error(`streams not all subscribed within ${timeoutMs} ms (${seen})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function hopView(us: number[]): HopView {
  // oxlint-disable-next-line unicorn/no-array-sort -- a copy already
  const sorted = Float64Array.from(us).sort();
  const at = (p: number) =>
    sorted.length === 0
      ? NaN
      : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! / 1000;
  return { events: sorted.length, p50Ms: at(50), p99Ms: at(99), maxMs: at(100) };
}

function view(collected: Collected, clients: number): WindowView {
  return {
    clients,
    deliveries: collected.deliveries,
    seconds: collected.seconds,
    deliveriesPerSecond: collected.deliveriesPerSecond,
    p50Ms: collected.p50Ms,
    p99Ms: collected.p99Ms,
    maxMs: collected.maxMs,
  };
}

/** Publishes `count` events on the first instance, and waits for every stream to get them. */
async function hubWindow(
  s: HubSession,
  clients: number[],
  first: number,
  count: number,
  size: number,
  timeoutMs: number,
  { intervalMs, awaitEach }: { intervalMs?: number; awaitEach?: boolean } = {},
): Promise<HubWindowResult> {
  const before = await Promise.all(s.instances.map((i) => stats(i.rpc)));
  const redisBefore = await s.redisSample?.();
  const started = performance.now();
  await s.load.call('arm', { from: first, to: first + count, size });
  const published = await s.instances[0]!.rpc.call<PublishResult>(
    'publish',
    { first, count, size, intervalMs, awaitEach },
    timeoutMs,
  );
  const collected = await s.load.call<Collected>('collect', { timeoutMs }, timeoutMs + 5000);
  const after = await Promise.all(s.instances.map((i) => stats(i.rpc)));
  const redisAfter = await s.redisSample?.();
  const wallMs = performance.now() - started;
  const serverCpuMs = after.map((a, i) => a.cpuMs - before[i]!.cpuMs);
  const serversMs = serverCpuMs.reduce((a, b) => a + b, 0);
  const redisCpuMs = (redisAfter?.cpuMs ?? 0) - (redisBefore?.cpuMs ?? 0);
  const redisCommands =
    redisAfter === undefined ? NaN : redisAfter.commands - redisBefore!.commands;
  const machineMs = after[0]!.machineBusyMs - before[0]!.machineBusyMs;
  const hops = after.map((a) => ((a.extra as { hopsUs?: number[] }).hopsUs ?? []).slice());
  const perInstance =
    s.instances.length === 1
      ? [view(collected, clients[0]!)]
      : s.instances.map((instance, i) => {
          const part = collected.byPort?.[String(instance.port)];
          if (part === undefined) {
            return {
              clients: clients[i]!,
              deliveries: 0,
              seconds: NaN,
              deliveriesPerSecond: NaN,
              p50Ms: NaN,
              p99Ms: NaN,
              maxMs: NaN,
            };
          }
          return part;
        });
  return {
    all: view(
      collected,
      clients.reduce((a, b) => a + b, 0),
    ),
    perInstance,
    hop: hopView(hops.flat()),
    hopPerInstance: hops.map(hopView),
    published,
    cpu: {
      serverCpuMs,
      redisCpuMs,
      redisCommands,
      servers: serversMs / wallMs,
      load: collected.loadCpuMs / wallMs,
      redis: redisCpuMs / wallMs,
      others: (machineMs - serversMs - collected.loadCpuMs - redisCpuMs) / wallMs,
    },
    issues: {
      gaps: collected.gaps,
      duplicates: collected.duplicates,
      malformed: collected.malformed,
      others: collected.others,
      wrongSize: collected.wrongSize,
      missing: collected.missing,
      closedEarly: collected.closedEarly,
      timedOut: collected.timedOut,
      malformedSample: collected.malformedSample,
    },
  };
}

/**
 * C streams split evenly over the instances; 20 warm-up events, then E events of S bytes
 * published on the first instance as fast as its event loop goes (one `hub.publish()` per
 * macrotask, not awaited one by one; all awaited at the end), then E more with each publish
 * awaited before the next, then 100 at 20,000 deliveries/s. Then every stream must have had
 * every event exactly once, in order.
 */
export async function hubFanout(
  s: HubSession,
  variant: HubVariant,
  { clients, events, size }: { clients: number; events: number; size: number },
): Promise<HubResult> {
  const n = s.instances.length;
  const counts = s.instances.map((_, i) => Math.floor(clients / n) + (i < clients % n ? 1 : 0));
  for (const [i, instance] of s.instances.entries()) {
    const opened = await s.load.call<{ ok: number; statuses: Record<string, number> }>('open', {
      port: instance.port,
      path: '/events',
      count: counts[i],
      concurrency: OPEN_CONCURRENCY,
      opaqueIds: true,
    });
    if (opened.ok !== counts[i]) {
      throw new Error(
        `instance ${instance.name}: opened ${opened.ok} of ${counts[i]} streams: ${JSON.stringify(opened.statuses)}`,
      );
    }
  }
  await waitForSubscribers(s, counts, 15_000);
  const warmup = await hubWindow(s, counts, 0, WARMUP_EVENTS, size, 30_000);
  const measured = await hubWindow(s, counts, WARMUP_EVENTS, events, size, 120_000);
  const awaited = await hubWindow(s, counts, WARMUP_EVENTS + events, events, size, 120_000, {
    awaitEach: true,
  });
  const paced = await hubWindow(s, counts, WARMUP_EVENTS + 2 * events, PACED_EVENTS, size, 60_000, {
    intervalMs: 1000 / (PACED_DELIVERIES_PER_SECOND / clients),
  });
  const expected = WARMUP_EVENTS + 2 * events + PACED_EVENTS;
  const tallied = await s.load.call<Record<string, HubTally>>('tally', { expected });
  await s.load.call('closeAll');
  const deliveries = measured.all.deliveries;
  return {
    variant,
    instances: s.instances.map((i, k) => ({ name: i.name, core: i.core, clients: counts[k]! })),
    eventsPerStream: expected,
    size,
    measured,
    awaited,
    paced: { ...paced, deliveriesPerSecondOffered: PACED_DELIVERIES_PER_SECOND },
    warmup,
    serverCpuUsPerDelivery:
      (measured.cpu.serverCpuMs.reduce((a, b) => a + b, 0) * 1000) / deliveries,
    serverCpuUsPerDeliveryPerInstance: measured.cpu.serverCpuMs.map(
      (ms, i) => (ms * 1000) / measured.perInstance[i]!.deliveries,
    ),
    redisCpuUsPerEvent:
      s.redisSample === undefined ? NaN : (measured.cpu.redisCpuMs * 1000) / events,
    redisCommandsPerEvent: measured.cpu.redisCommands / events,
    redisCommandsPerEventAwaited: awaited.cpu.redisCommands / events,
    cpu: measured.cpu,
    tally: s.instances.map(
      (i) => tallied[String(i.port)] ?? { streams: 0, exact: 0, closed: 0, sample: 'no stream' },
    ),
  };
}

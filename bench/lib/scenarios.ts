import type { RpcChild } from './rpc.js';
import type { PublishResult, ServerStats } from './server-kit.js';

/** Events sent (and awaited) before a measured window, so that every code path is compiled. */
const WARMUP_EVENTS = 20;
const CHURN_WARMUP_CYCLES = 200;
/**
 * Cycles run after the heap baseline's forced GC and before the measured ones. Without them the
 * measured window is mostly V8 tiering up again: measured here (`--trace-opt`), 137 functions
 * were re-optimized during the 2,000 cycles after the `gc()`, against 9 when the GC was not
 * forced, and the CPU per cycle of both servers was twice their steady state. 3,000 cycles get
 * both to it (8 and 9 functions re-optimized in the next 4,000).
 */
const CHURN_REWARM_CYCLES = 3000;
const CHURN_CONCURRENCY = 32;
const OPEN_CONCURRENCY = 200;
/**
 * The pace of the latency measurement, in deliveries per second across all streams: below
 * what each server sustains on one core (Nest's `@Sse()`: about 30,000 with 4 KiB events), so
 * that latency is the time an event takes, not the time it waits behind the others.
 */
export const PACED_DELIVERIES_PER_SECOND = 20_000;
const PACED_EVENTS = 100;

export interface Session {
  server: RpcChild;
  load: RpcChild;
  port: number;
  /** The streams go over this many HTTP/2 sessions (h2c) rather than a socket each. */
  http2?: { sessions: number };
}

interface OpenResult {
  ms: number;
  ok: number;
  statuses: Record<string, number>;
}

export interface CollectResult {
  deliveries: number;
  seconds: number;
  deliveriesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU the load generator used from arming the window to its end. */
  loadCpuMs: number;
  /** Bytes the streams received during the window (frames, chunk framing, heartbeats). */
  socketBytes: number;
  wrongSize: number;
  closedEarly: number;
  unfinished: number;
  missing: number;
  timedOut: boolean;
  gaps: number;
  duplicates: number;
  malformed: number;
  others: number;
  malformedSample: string;
}

export interface SlowClientResult {
  status: number;
  bytesWhilePaused: number;
  bytes: number;
  events: number;
  lastSeq: number;
  ending: string;
}

interface ChurnResult {
  cycles: number;
  ok: number;
  failures: Record<string, number>;
  ms: number;
  cyclesPerSecond: number;
  loadCpuMs: number;
}

const stats = (s: Session, collect = false) => s.server.call<ServerStats>('stats', { collect });

async function waitUntil(
  s: Session,
  done: (stats: ServerStats) => boolean,
  timeoutMs: number,
  what: string,
): Promise<{ stats: ServerStats; ms: number }> {
  const started = performance.now();
  for (;;) {
    const current = await stats(s);
    if (done(current)) return { stats: current, ms: performance.now() - started };
    if (performance.now() - started > timeoutMs) {
      throw new Error(
        `${what}: not reached within ${timeoutMs} ms (sockets ${current.sockets}, subscribers ${current.subscribers})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function open(s: Session, count: number, paused = false): Promise<OpenResult> {
  const result = await s.load.call<OpenResult>('open', {
    port: s.port,
    path: '/events',
    count,
    concurrency: OPEN_CONCURRENCY,
    paused,
    http2: s.http2,
  });
  if (result.ok !== count) {
    throw new Error(`opened ${result.ok} of ${count} streams: ${JSON.stringify(result.statuses)}`);
  }
  return result;
}

/** Publishes `count` events from `first`, and waits for every stream to receive them. */
async function window(
  s: Session,
  first: number,
  count: number,
  size: number,
  timeoutMs: number,
  { watch = false, intervalMs }: { watch?: boolean; intervalMs?: number } = {},
): Promise<{ collected: CollectResult; published: PublishResult; cpu: CpuShares }> {
  const before = await stats(s);
  const started = performance.now();
  await s.load.call('arm', { from: first, to: first + count, size });
  const published = await s.server.call<PublishResult>(
    'publish',
    { first, count, size, watch, intervalMs },
    timeoutMs,
  );
  const collected = await s.load.call<CollectResult>('collect', { timeoutMs }, timeoutMs + 5000);
  const after = await stats(s);
  const wallMs = performance.now() - started;
  const serverCpuMs = after.cpuMs - before.cpuMs;
  return {
    collected,
    published,
    cpu: {
      serverCpuMs,
      server: serverCpuMs / wallMs,
      load: collected.loadCpuMs / wallMs,
      others:
        (after.machineBusyMs - before.machineBusyMs - serverCpuMs - collected.loadCpuMs) / wallMs,
    },
  };
}

/** CPU used during a measurement, in cores (1 = one core busy all along). */
export interface CpuShares {
  serverCpuMs: number;
  server: number;
  load: number;
  /** Everything else on the machine (it is shared): a noisy measurement shows here. */
  others: number;
}

export interface FanoutResult extends CollectResult {
  publishMs: number;
  /** The same streams at a pace every server sustains: latency without queueing. */
  paced: CollectResult & {
    deliveriesPerSecondOffered: number;
    /**
     * Server CPU per delivery at the pace, in µs: the cost of a delivery where neither side is
     * saturated, so that it does not swing with how the two processes' batches happen to meet.
     */
    serverCpuUsPerDelivery: number;
  };
  /** Server CPU per delivery, in µs: the cost of a delivery, less sensitive to a shared machine. */
  serverCpuUsPerDelivery: number;
  cpu: CpuShares;
  warmup: CollectResult;
  subscribersAfter: number;
}

/** C streams; E events of S bytes published as fast as the event loop allows. */
export async function fanout(
  s: Session,
  { clients, events, size }: { clients: number; events: number; size: number },
): Promise<FanoutResult> {
  await open(s, clients);
  await waitUntil(s, (st) => st.subscribers === clients, 15_000, 'all streams subscribed');
  const warm = await window(s, 0, WARMUP_EVENTS, size, 30_000);
  const measured = await window(s, WARMUP_EVENTS, events, size, 120_000);
  const eventsPerSecond = PACED_DELIVERIES_PER_SECOND / clients;
  const paced = await window(s, WARMUP_EVENTS + events, PACED_EVENTS, size, 60_000, {
    intervalMs: 1000 / eventsPerSecond,
  });
  const after = await stats(s);
  await s.load.call('closeAll');
  return {
    ...measured.collected,
    publishMs: measured.published.publishMs,
    paced: {
      ...paced.collected,
      deliveriesPerSecondOffered: PACED_DELIVERIES_PER_SECOND,
      serverCpuUsPerDelivery: (paced.cpu.serverCpuMs * 1000) / paced.collected.deliveries,
    },
    serverCpuUsPerDelivery: (measured.cpu.serverCpuMs * 1000) / measured.collected.deliveries,
    cpu: measured.cpu,
    warmup: warm.collected,
    subscribersAfter: after.subscribers,
  };
}

export interface IdleResult {
  connections: number;
  openMs: number;
  rssPerConnection: number;
  heapPerConnection: number;
  externalPerConnection: number;
  base: ServerStats;
  after: ServerStats;
}

/** N open streams that receive nothing: memory per connection after GC. */
export async function idle(
  s: Session,
  { connections }: { connections: number },
): Promise<IdleResult> {
  // Lazily created state (route caches, compiled code) belongs to the baseline.
  await open(s, 50);
  await waitUntil(s, (st) => st.subscribers === 50, 15_000, 'warm-up streams subscribed');
  await s.load.call('closeAll');
  await waitUntil(s, (st) => st.sockets === 0 && st.subscribers === 0, 10_000, 'warm-up closed');
  const base = await stats(s, true);
  const opened = await open(s, connections);
  await waitUntil(s, (st) => st.subscribers === connections, 30_000, 'all streams subscribed');
  const after = await stats(s, true);
  await s.load.call('closeAll', {}, 60_000);
  return {
    connections,
    openMs: opened.ms,
    rssPerConnection: (after.rss - base.rss) / connections,
    heapPerConnection: (after.heapUsed - base.heapUsed) / connections,
    externalPerConnection: (after.external - base.external) / connections,
    base,
    after,
  };
}

export interface SlowResult {
  events: number;
  publishMs: number;
  /** Peak RSS while publishing, over the RSS before (after GC). */
  peakRssGrowth: number;
  /** After publishing, with the slow client still not reading, after GC. */
  heldRss: number;
  heldHeapAndBuffers: number;
  subscribersAfter: number;
  closedByServer: boolean;
  /** The first event published after the slow stream was gone (none: it never was). */
  firstSeqAfterClose?: number;
  cpu: CpuShares;
  healthy: CollectResult;
  slow: SlowClientResult;
  extraAfter: Record<string, unknown>;
}

/** One client that stops reading and one that reads, while E events of S bytes are sent. */
export async function slowConsumer(
  s: Session,
  { events, size }: { events: number; size: number },
): Promise<SlowResult> {
  await open(s, 1);
  await open(s, 1, true);
  await waitUntil(s, (st) => st.subscribers === 2, 15_000, 'both streams subscribed');
  const base = await stats(s, true);
  const { collected, published, cpu } = await window(s, 0, events, size, 180_000, {
    watch: true,
  });
  const after = await stats(s, true);
  const [slow] = await s.load.call<SlowClientResult[]>(
    'resumeSlow',
    { idleMs: 500, timeoutMs: 60_000 },
    70_000,
  );
  await s.load.call('closeAll');
  return {
    events,
    publishMs: published.publishMs,
    peakRssGrowth: published.peakRss - base.rss,
    heldRss: after.rss - base.rss,
    heldHeapAndBuffers: after.heapUsed + after.external - (base.heapUsed + base.external),
    subscribersAfter: after.subscribers,
    closedByServer: after.subscribers < 2,
    firstSeqAfterClose: published.firstSeqAfterDrop,
    cpu,
    healthy: collected,
    slow: slow!,
    extraAfter: after.extra,
  };
}

export interface ChurnSummary extends ChurnResult {
  /** Heap growth per cycle over a second batch of as many cycles (bytes). */
  heapGrowthPerCycleAfter: number;
  serverCpuUsPerCycle: number;
  cpu: CpuShares;
  settleMs: number;
  settled: boolean;
  heapDelta: number;
  handlesBefore: Record<string, number>;
  handlesAfter: Record<string, number>;
  handleDelta: number;
  timerDelta: number;
  extraAfter: Record<string, unknown>;
}

const TIMER_TYPES = new Set(['Timeout', 'Immediate']);

function countResources(resources: Record<string, number>, timers: boolean): number {
  return Object.entries(resources)
    .filter(([type]) => TIMER_TYPES.has(type) === timers)
    .reduce((sum, [, n]) => sum + n, 0);
}

const settled = (st: ServerStats) => st.sockets === 0 && st.subscribers === 0;

/** Cycles of connect, receive one event, disconnect; then, is everything released? */
export async function churn(s: Session, { cycles }: { cycles: number }): Promise<ChurnSummary> {
  const run = (n: number) =>
    s.load.call<ChurnResult>('churn', {
      port: s.port,
      path: '/churn',
      cycles: n,
      concurrency: CHURN_CONCURRENCY,
      http2: s.http2,
    });
  await run(CHURN_WARMUP_CYCLES);
  await waitUntil(s, settled, 10_000, 'warm-up connections closed');
  const base = await stats(s, true);
  // The CPU is measured on steady-state code: after the GC above, not right after it.
  await run(CHURN_REWARM_CYCLES);
  await waitUntil(s, settled, 10_000, 'second warm-up closed');
  const cpuBase = await stats(s);
  const started = performance.now();
  const result = await run(cycles);
  const ran = await stats(s);
  const wallMs = performance.now() - started;
  const serverCpuMs = ran.cpuMs - cpuBase.cpuMs;
  let settleMs = NaN;
  let ok = true;
  try {
    settleMs = (await waitUntil(s, settled, 10_000, 'churned connections closed')).ms;
  } catch {
    ok = false;
  }
  const after = await stats(s, true);
  // A second batch tells a leak (it grows again, by as much) from one-time growth (compiled
  // code, caches that filled once).
  await run(cycles);
  await waitUntil(s, settled, 10_000, 'second batch closed').catch(() => undefined);
  const again = await stats(s, true);
  return {
    ...result,
    heapGrowthPerCycleAfter: (again.heapUsed - after.heapUsed) / cycles,
    serverCpuUsPerCycle: (serverCpuMs * 1000) / cycles,
    cpu: {
      serverCpuMs,
      server: serverCpuMs / wallMs,
      load: result.loadCpuMs / wallMs,
      others: (ran.machineBusyMs - cpuBase.machineBusyMs - serverCpuMs - result.loadCpuMs) / wallMs,
    },
    settleMs,
    settled: ok,
    heapDelta: after.heapUsed - base.heapUsed,
    handlesBefore: base.resources,
    handlesAfter: after.resources,
    handleDelta: countResources(after.resources, false) - countResources(base.resources, false),
    timerDelta: countResources(after.resources, true) - countResources(base.resources, true),
    extraAfter: after.extra,
  };
}

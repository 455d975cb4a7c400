/**
 * Issue 11, item 5: concurrent streams per process.
 *
 *   npx tsc -p bench/tsconfig.json && node bench/dist/bench/capacity.js [--quick]
 *       [--streams 15000] [--heartbeat-ms 2000] [--events 8] [--interval-ms 2500] [--out FILE]
 *
 * One instance (servers/nest-capacity.ts, core 0) holds N streams (15,000; 2,000 with --quick)
 * from the load generator (load.ts, core 1) with heartbeats on. Measured, in three phases:
 * 1. RSS, heap and Buffers per stream (after GC, over a baseline taken after 50 streams came
 *    and went, as in the idle scenario);
 * 2. heartbeats alone for a window: server CPU per second, and per heartbeat received;
 * 3. a paced fan-out with heartbeats still on (events farther apart than the heartbeat
 *    interval, so every stream gets a heartbeat between two events): delivery latency p50/p99
 *    and server CPU per delivery.
 * Then the same numbers extrapolated to 100k streams, with the arithmetic.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type CapacityResult, capacityReport } from './lib/capacity-report.js';
import { RpcChild, startTracked } from './lib/rpc.js';
import type { CollectResult } from './lib/scenarios.js';
import type { PublishResult, ServerStats } from './lib/server-kit.js';
import { ProcSampler } from './lib/storm-sampler.js';

const here = dirname(fileURLToPath(import.meta.url));

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    streams: { type: 'string' },
    'heartbeat-ms': { type: 'string' },
    /** Seconds of heartbeats alone. */
    'heartbeat-window': { type: 'string' },
    events: { type: 'string' },
    'interval-ms': { type: 'string' },
    out: { type: 'string' },
    'server-flags': { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});

const streams = Number(flags.streams ?? (flags.quick ? 2000 : 15_000));
const heartbeatMs = Number(flags['heartbeat-ms'] ?? 2000);
const heartbeatWindowMs = Number(flags['heartbeat-window'] ?? 10) * 1000;
const events = Number(flags.events ?? 8);
/** Farther apart than the heartbeat interval: between two events, each stream gets one. */
const intervalMs = Number(flags['interval-ms'] ?? heartbeatMs * 1.25);
const EVENT_SIZE = 100;
/**
 * A heartbeat on the wire: the comment line `:\n` in a chunk of its own (`2\r\n:\n\r\n`). It
 * is a line, not a frame, so the load generator's frame reader skips it: heartbeats are
 * counted from the bytes received in a window without events.
 */
const HEARTBEAT_WIRE_BYTES = 7;
/** An event on the wire: `id: <seq>\ndata: <100 B>\n\n` (seq < 10), in a chunk `72\r\n…\r\n`. */
const EVENT_WIRE_BYTES = 114 + 6;

const log = (line: string) => {
  if (flags.verbose || /error|warn|exception|fail/i.test(line)) console.error(line);
};
const say = (line: string) => console.error(`capacity: ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const uptime = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const cores = availableParallelism();
const [serverCore, loadCore] = cores >= 2 ? [0, 1] : [0, 0];
const live = new Set<RpcChild>();
async function start(name: string, script: string, core: number, nodeFlags: string[]) {
  return startTracked(live, {
    name,
    script: join(here, script),
    core,
    nodeFlags,
    env: { BENCH_CAPACITY_HEARTBEAT_MS: String(heartbeatMs) },
    raiseFileLimit: true,
    log,
  });
}
const stopAll = () => Promise.all([...live].map((c) => c.stop()));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void stopAll().then(() => process.exit(130)));
}

const loadBefore = uptime();
const startedAt = new Date();
const began = performance.now();
say(`${streams} streams, heartbeat ${heartbeatMs} ms; load average ${loadBefore}`);
const server = await start('server', 'servers/nest-capacity.js', serverCore, [
  '--expose-gc',
  ...(flags['server-flags']?.split(' ').filter(Boolean) ?? []),
]);
const load = await start('load', 'load.js', loadCore, ['--max-old-space-size=3072']);
const stats = (collect = false) => server.call<ServerStats>('stats', { collect });
async function waitSubscribers(n: number, timeoutMs: number): Promise<void> {
  const started = performance.now();
  while ((await stats()).subscribers !== n) {
    if (performance.now() - started > timeoutMs) {
      throw new Error(`the server did not count ${n} subscribers within ${timeoutMs} ms`);
    }
    await sleep(50);
  }
}
async function open(count: number): Promise<number> {
  const r = await load.call<{ ms: number; ok: number; statuses: Record<string, number> }>(
    'open',
    { port: server.port, path: '/events', count, concurrency: 200 },
    300_000,
  );
  if (r.ok !== count) throw new Error(`opened ${r.ok} of ${count}: ${JSON.stringify(r.statuses)}`);
  return r.ms;
}

let result: CapacityResult;
try {
  await open(50);
  await waitSubscribers(50, 15_000);
  await load.call('closeAll');
  await waitSubscribers(0, 15_000);
  const base = await stats(true);
  const openMs = await open(streams);
  await waitSubscribers(streams, 60_000);
  const held = await stats(true);
  const loadAtOpen = uptime();
  say(`${streams} streams open in ${(openMs / 1000).toFixed(1)} s`);

  // Phase 2: heartbeats alone. An empty window (no event): the load generator counts the
  // comments each stream receives, every frame parsed.
  const hbBefore = await stats();
  const hbStarted = performance.now();
  await load.call('arm', { from: 0, to: 0, size: EVENT_SIZE });
  const hbSampler = new ProcSampler({ server: server.pid! });
  await sleep(heartbeatWindowMs);
  const hbCollected = await load.call<CollectResult>('collect', { timeoutMs: 1000 });
  const hbAfter = await stats();
  const hbWallMs = performance.now() - hbStarted;
  const hbSampled = hbSampler.stop();
  const hbCpuMs = hbAfter.cpuMs - hbBefore.cpuMs;
  const heartbeats = hbCollected.socketBytes / HEARTBEAT_WIRE_BYTES;
  const heartbeat = {
    windowMs: hbWallMs,
    heartbeats,
    socketBytes: hbCollected.socketBytes,
    serverCpuMs: hbCpuMs,
    cpuMsPerSecond: hbCpuMs / (hbWallMs / 1000),
    cpuUsPerHeartbeat: (hbCpuMs * 1000) / heartbeats,
    peakCores: hbSampled.processes.server!.peakCores,
    othersCores: hbSampled.othersCores,
    malformed: hbCollected.malformed,
    loadAverage: uptime(),
  };
  say(`heartbeats: ${JSON.stringify(heartbeat)}`);

  // Phase 3: a paced fan-out, heartbeats still on.
  await load.call('arm', { from: 0, to: events, size: EVENT_SIZE });
  const fanBefore = await stats();
  const fanSampler = new ProcSampler({ server: server.pid!, load: load.pid! });
  const timeoutMs = events * intervalMs + 60_000;
  const published = await server.call<PublishResult>(
    'publish',
    { first: 0, count: events, size: EVENT_SIZE, intervalMs },
    timeoutMs,
  );
  const fanCollected = await load.call<CollectResult>('collect', { timeoutMs }, timeoutMs + 5000);
  // CPU read before the GC that the memory reading below needs: a GC of 15,000 streams' heap
  // is no part of a delivery.
  const fanAfter = await stats();
  const fanSampled = fanSampler.stop();
  const afterFanout = await stats(true);
  const fanCpuMs = fanAfter.cpuMs - fanBefore.cpuMs;
  // What is not an event is heartbeats (an event and a heartbeat written in the same tick
  // may share a chunk: a few bytes off, at most).
  const heartbeatsMeanwhile = Math.max(
    0,
    (fanCollected.socketBytes - fanCollected.deliveries * EVENT_WIRE_BYTES) / HEARTBEAT_WIRE_BYTES,
  );
  const fanout = {
    events,
    intervalMs,
    deliveries: fanCollected.deliveries,
    p50Ms: fanCollected.p50Ms,
    p99Ms: fanCollected.p99Ms,
    maxMs: fanCollected.maxMs,
    heartbeatsMeanwhile,
    serverCpuMs: fanCpuMs,
    // What the heartbeats of the window cost, at the rate measured alone, is taken out.
    cpuUsPerDelivery:
      ((fanCpuMs - (heartbeat.cpuUsPerHeartbeat * heartbeatsMeanwhile) / 1000) * 1000) /
      fanCollected.deliveries,
    peakCores: fanSampled.processes.server!.peakCores,
    loadPeakCores: fanSampled.processes.load!.peakCores,
    othersCores: fanSampled.othersCores,
    missing: fanCollected.missing,
    gaps: fanCollected.gaps,
    duplicates: fanCollected.duplicates,
    malformed: fanCollected.malformed,
    closedEarly: fanCollected.closedEarly,
    publishMs: published.publishMs,
    loadAverage: uptime(),
  };
  say(`fan-out: ${JSON.stringify(fanout)}`);
  await load.call('closeAll', {}, 120_000);
  result = {
    streams,
    heartbeatMs,
    openMs,
    rssBase: base.rss,
    rssHeld: held.rss,
    rssPerStream: (held.rss - base.rss) / streams,
    heapPerStream: (held.heapUsed - base.heapUsed) / streams,
    externalPerStream: (held.external - base.external) / streams,
    rssAfterFanout: afterFanout.rss,
    heartbeat,
    fanout,
    loadAtOpen,
  };
} finally {
  await stopAll();
}

const markdown = capacityReport(result, {
  environment: [
    `${startedAt.toISOString()}, ${((performance.now() - began) / 1000).toFixed(0)} s in all; load average ${loadBefore} before, ${uptime()} after (the machine is shared)`,
    `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `command: \`node bench/dist/bench/capacity.js ${process.argv.slice(2).join(' ')}\`; server \`servers/nest-capacity.ts\` on core ${serverCore}, load generator \`load.ts\` on core ${loadCore}`,
  ],
});
console.log(markdown);
writeFileSync(join(here, '..', 'capacity.json'), JSON.stringify(result, null, 2));
if (flags.out !== undefined) writeFileSync(resolve(flags.out), markdown);

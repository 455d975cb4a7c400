/**
 * nestjs-event-stream's hub: `@EventStream('events')` returning `hub.stream('bench')`, and every
 * event published with `hub.publish('bench', data)`. The broker comes from the environment
 * (bench/run.ts sets it):
 *
 * - `BENCH_HUB_BROKER=memory` (default): `memoryBroker()`, one process.
 * - `BENCH_HUB_BROKER=redis`: `redisBroker({ url: BENCH_HUB_REDIS_URL, keyPrefix:
 *   BENCH_HUB_KEY_PREFIX })`; several of these processes with the same prefix share the
 *   channel through Redis.
 *
 * The same module settings as servers/nest-event-stream.ts (no heartbeat, 1 MiB budget per
 * connection, closed past it). The hub gives every event its own id (`<epoch>-<n>` in memory, a
 * Redis stream id on Redis): the sequence number the load generator checks is in the data.
 *
 * GET /events: the stream.
 */
import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import { EventStream, type HubStream, memoryBroker, redisBroker, SseHub } from '../../src/index.js';
import { countedBroker } from '../lib/counted-broker.js';
import { hopRecorder, startHubBenchServer } from '../lib/hub-bench-server.js';

const CHANNEL = 'bench';
const brokerKind = process.env.BENCH_HUB_BROKER ?? 'memory';
if (brokerKind !== 'memory' && brokerKind !== 'redis') {
  throw new Error(`BENCH_HUB_BROKER: "memory" or "redis", not "${brokerKind}"`);
}

/**
 * The broker hop of every event, in µs: from its send time (in its data, stamped just before
 * `hub.publish()`, on the monotonic clock every process of the machine shares) to the first
 * call of a hub listener in this process: what the broker adds before the fan-out starts. On
 * instance B of the cross-instance variant, from A's publish to B's reader. Taken (and
 * emptied) by each `stats` command.
 */
const hops = hopRecorder();

const { broker, live } = countedBroker(
  brokerKind === 'redis'
    ? redisBroker({
        url: process.env.BENCH_HUB_REDIS_URL ?? 'redis://127.0.0.1:6379',
        keyPrefix: process.env.BENCH_HUB_KEY_PREFIX ?? `bench:hub:${process.pid}:`,
      })
    : memoryBroker(),
  // A listener notes the broker hop first (one comparison per delivery, one clock read per event).
  hops.note,
);

@Controller()
class HubController {
  constructor(private readonly hub: SseHub) {}

  @EventStream('events')
  events(): HubStream {
    return this.hub.stream(CHANNEL);
  }
}

await startHubBenchServer(HubController, broker, (hub, registry) => ({
  publish: (event) => hub.publish(CHANNEL, event.data),
  subscribers: live,
  extra: () => {
    return { broker: brokerKind, ...registry.stats(), hopsUs: hops.take() };
  },
}));

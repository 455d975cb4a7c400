/**
 * An instance of the Redis Cluster benchmark (bench/cluster.ts): `SseHub` on `redisBroker()`,
 * on a Redis Cluster or on one Redis, with the settings of servers/nest-hub.ts (no heartbeat,
 * 1 MiB budget per connection, closed past it). `GET /events?ch=<channel>` returns
 * `hub.stream(channel)`; the kit's `publish` command sends event `seq` to channel
 * `ch<seq mod BENCH_CLUSTER_CHANNELS>`, so that every instance publishes on every channel.
 *
 * Environment:
 * - `BENCH_CLUSTER_NODES`: `port,port,…` of the cluster's nodes on 127.0.0.1
 *   (`redisBroker({ cluster: { nodes } })`); without it, one Redis at `BENCH_CLUSTER_REDIS_URL`.
 * - `BENCH_CLUSTER_PARTITIONS`, `BENCH_CLUSTER_REPLICAS_TO_ACK`: the cluster options (the
 *   broker's defaults when unset).
 * - `BENCH_CLUSTER_KEY_PREFIX`, `BENCH_CLUSTER_CHANNELS`.
 *
 * `stats` reports, besides the registry's numbers, the broker hop of every event since the last
 * `stats` (as in servers/nest-hub.ts: from the send stamp in its data to the first hub listener
 * call in this process).
 */
import 'reflect-metadata';
import { Controller, Query } from '@nestjs/common';
import { EventStream, type HubStream, redisBroker, SseHub } from '../../src/index.js';
import { countedBroker } from '../lib/counted-broker.js';
import { hopRecorder, startHubBenchServer } from '../lib/hub-bench-server.js';

const channels = Number(process.env.BENCH_CLUSTER_CHANNELS ?? 300);
const keyPrefix = process.env.BENCH_CLUSTER_KEY_PREFIX ?? `bench:cluster:${process.pid}:`;
const nodes = process.env.BENCH_CLUSTER_NODES?.split(',').map((port) => ({
  host: '127.0.0.1',
  port: Number(port),
}));
const optional = (name: string) =>
  process.env[name] === undefined ? undefined : Number(process.env[name]);

const hops = hopRecorder();

const { broker, live } = countedBroker(
  redisBroker(
    nodes === undefined
      ? { url: process.env.BENCH_CLUSTER_REDIS_URL ?? 'redis://127.0.0.1:6379', keyPrefix }
      : {
          keyPrefix,
          cluster: {
            nodes,
            partitions: optional('BENCH_CLUSTER_PARTITIONS'),
            replicasToAck: optional('BENCH_CLUSTER_REPLICAS_TO_ACK'),
          },
        },
  ),
  hops.note,
);

@Controller()
class ClusterHubController {
  constructor(private readonly hub: SseHub) {}

  @EventStream('events')
  events(@Query('ch') channel: string): HubStream {
    return this.hub.stream(channel);
  }
}

await startHubBenchServer(ClusterHubController, broker, (hub, registry) => ({
  publish: (event) => hub.publish(`ch${Number(event.id) % channels}`, event.data),
  subscribers: live,
  extra: () => {
    return { ...registry.stats(), hopsUs: hops.take() };
  },
}));

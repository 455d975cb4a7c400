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
import { Controller, Module, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import {
  EventStream,
  type HubStream,
  redisBroker,
  SseHub,
  SseModule,
  type StoredEvent,
  StreamRegistry,
} from '../../src/index.js';
import { countedBroker } from '../lib/counted-broker.js';
import { portFromArgs, runBenchServer } from '../lib/server-kit.js';

const channels = Number(process.env.BENCH_CLUSTER_CHANNELS ?? 300);
const keyPrefix = process.env.BENCH_CLUSTER_KEY_PREFIX ?? `bench:cluster:${process.pid}:`;
const nodes = process.env.BENCH_CLUSTER_NODES?.split(',').map((port) => ({
  host: '127.0.0.1',
  port: Number(port),
}));
const optional = (name: string) =>
  process.env[name] === undefined ? undefined : Number(process.env[name]);

let hops: number[] = [];
let lastEvent: unknown;

function noteHop(event: StoredEvent): void {
  // Once per event: each listener of a channel gets the very same object.
  if (event === lastEvent) return;
  lastEvent = event;
  const data = String(event.data);
  const from = data.indexOf(' ') + 1;
  hops.push(
    Number(process.hrtime.bigint() / 1000n) - Number(data.slice(from, data.indexOf(' ', from))),
  );
}

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
  noteHop,
);

@Controller()
class ClusterHubController {
  constructor(private readonly hub: SseHub) {}

  @EventStream('events')
  events(@Query('ch') channel: string): HubStream {
    return this.hub.stream(channel);
  }
}

@Module({
  imports: [
    SseModule.forRoot({
      heartbeatMs: 0,
      maxBufferedBytes: 1024 * 1024,
      slowClientPolicy: 'close',
      broker,
    }),
  ],
  controllers: [ClusterHubController],
})
class ClusterHubModule {}

const app = await NestFactory.create(ClusterHubModule, { logger: ['error', 'warn'] });
const port = portFromArgs();
await app.listen(port, '127.0.0.1');
const http = app.getHttpServer() as Server;
const address = http.address();
const hub = app.get(SseHub);
const registry = app.get(StreamRegistry);
runBenchServer(
  {
    http,
    publish: (event) => hub.publish(`ch${Number(event.id) % channels}`, event.data),
    subscribers: live,
    extra: () => {
      const taken = hops;
      hops = [];
      return { ...registry.stats(), hopsUs: taken };
    },
  },
  typeof address === 'object' && address !== null ? address.port : port,
);

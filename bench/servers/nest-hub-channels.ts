/**
 * One channel per client: `GET /channel/:n` returns `hub.stream('user:<n>')` (issue 11 item 1:
 * one channel per user). The broker comes from the environment, as in servers/nest-hub.ts
 * (`BENCH_HUB_BROKER`, `BENCH_HUB_REDIS_URL`, `BENCH_HUB_KEY_PREFIX`). Driven over IPC by
 * bench/many-channels.ts: `live` (subscriptions ready), `publishEach` (one event on each of the
 * channels 0..count-1, data `<n>`), `usage` (this process's CPU time, user and system, and its
 * GC pauses so far, ms; its heap).
 */
import 'reflect-metadata';
import { Controller, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import { PerformanceObserver } from 'node:perf_hooks';
import {
  EventStream,
  type HubStream,
  memoryBroker,
  redisBroker,
  SseHub,
  SseModule,
} from '../../src/index.js';
import { countedBroker } from '../lib/counted-broker.js';
import type { ServerUsage } from '../lib/server-usage.js';
import { announceReady, serveRpc } from '../lib/rpc.js';
import { portFromArgs } from '../lib/server-kit.js';

const brokerKind = process.env.BENCH_HUB_BROKER ?? 'memory';
const { broker, live } = countedBroker(
  brokerKind === 'redis'
    ? redisBroker({
        url: process.env.BENCH_HUB_REDIS_URL ?? 'redis://127.0.0.1:6379',
        keyPrefix: process.env.BENCH_HUB_KEY_PREFIX ?? `bench:channels:${process.pid}:`,
      })
    : memoryBroker(),
);

@Controller()
class ChannelController {
  constructor(private readonly hub: SseHub) {}

  @EventStream('channel/:n')
  channel(@Param('n') n: string): HubStream {
    return this.hub.stream(`user:${n}`);
  }
}

@Module({
  imports: [SseModule.forRoot({ heartbeatMs: 0, broker })],
  controllers: [ChannelController],
})
class ChannelsModule {}

const app = await NestFactory.create(ChannelsModule, { logger: ['error', 'warn'] });
await app.listen(portFromArgs(), '127.0.0.1');
const hub = app.get(SseHub);
const address = (app.getHttpServer() as Server).address();
// Pauses of the main thread for GC (a large heap of live streams makes scavenges slow).
let gcMs = 0;
let gcCount = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcMs += entry.duration;
    gcCount++;
  }
}).observe({ entryTypes: ['gc'] });

serveRpc({
  live: () => live(),
  usage: (): ServerUsage => {
    const { user, system } = process.cpuUsage();
    return {
      userMs: user / 1000,
      systemMs: system / 1000,
      gcMs,
      gcCount,
      heapUsed: process.memoryUsage().heapUsed,
    };
  },
  async publishEach({ count }: { count: number }) {
    const started = performance.now();
    let failed = 0;
    for (let start = 0; start < count; start += 500) {
      const batch = [];
      for (let n = start; n < Math.min(count, start + 500); n++) {
        batch.push(hub.publish(`user:${n}`, String(n)).catch(() => failed++));
      }
      await Promise.all(batch);
    }
    return { publishMs: performance.now() - started, failed };
  },
});
announceReady(typeof address === 'object' && address !== null ? address.port : undefined);

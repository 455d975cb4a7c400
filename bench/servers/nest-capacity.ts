/**
 * Issue 11, item 5: how many streams one process holds. nestjs-event-stream as in
 * servers/nest-event-stream.ts (`@EventStream()` over the shared Feed, 1 MiB budget, closed
 * past it), but with heartbeats on: `BENCH_CAPACITY_HEARTBEAT_MS` (bench/capacity.ts sets
 * 2000, so that a short run sees several; the module's default is 15000).
 *
 * GET /events: the stream.
 */
import 'reflect-metadata';
import { Controller, type MessageEvent, Module } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { EventStream, SseModule, StreamRegistry } from '../../src/index.js';
import { Feed } from '../lib/feed.js';
import { startNestBenchServer } from '../lib/nest-bootstrap.js';

const heartbeatMs = Number(process.env.BENCH_CAPACITY_HEARTBEAT_MS ?? 15_000);

@Controller()
class CapacityController {
  constructor(private readonly feed: Feed) {}

  @EventStream('events')
  events(): Observable<MessageEvent> {
    return this.feed.events();
  }
}

@Module({
  imports: [
    SseModule.forRoot({ heartbeatMs, maxBufferedBytes: 1024 * 1024, slowClientPolicy: 'close' }),
  ],
  controllers: [CapacityController],
  providers: [Feed],
})
class CapacityModule {}

await startNestBenchServer(CapacityModule, (app) => {
  const registry = app.get(StreamRegistry);
  return () => ({ ...registry.stats(), heartbeatTimers: registry.heartbeat.timers, heartbeatMs });
});

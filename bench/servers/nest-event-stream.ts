/**
 * nestjs-event-stream: `@EventStream()` returning an Observable of the shared Subject, with
 * heartbeats off (the other servers send none) and a 1 MiB budget per connection, closed past
 * it.
 *
 * GET /events: the stream. GET /churn: the same stream, opened with one event of its own.
 */
import 'reflect-metadata';
import { Controller, type MessageEvent, Module } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { EventStream, SseModule, StreamRegistry } from '../../src/index.js';
import { Feed } from '../lib/feed.js';
import { startNestBenchServer } from '../lib/nest-bootstrap.js';

@Controller()
class EventStreamController {
  constructor(private readonly feed: Feed) {}

  @EventStream('events')
  events(): Observable<MessageEvent> {
    return this.feed.events();
  }

  @EventStream('churn')
  churn(): Observable<MessageEvent> {
    return this.feed.churn();
  }
}

@Module({
  imports: [
    SseModule.forRoot({
      heartbeatMs: 0,
      maxBufferedBytes: 1024 * 1024,
      slowClientPolicy: 'close',
    }),
  ],
  controllers: [EventStreamController],
  providers: [Feed],
})
class EventStreamModule {}

await startNestBenchServer(EventStreamModule, (app) => {
  const registry = app.get(StreamRegistry);
  return () => ({ ...registry.stats(), heartbeatTimers: registry.heartbeat.timers });
});

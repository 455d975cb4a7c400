/**
 * Nest's built-in Server-Sent Events: `@Sse()` returning an Observable of the shared Subject,
 * with Nest's defaults (among them `maxPendingDataLength`, 4M characters).
 *
 * GET /events: the stream. GET /churn: the same stream, opened with one event of its own.
 */
import 'reflect-metadata';
import { Controller, type MessageEvent, Module, Sse } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { Feed } from '../lib/feed.js';
import { startNestBenchServer } from '../lib/nest-bootstrap.js';

@Controller()
class BuiltinController {
  constructor(private readonly feed: Feed) {}

  @Sse('events')
  events(): Observable<MessageEvent> {
    return this.feed.events();
  }

  @Sse('churn')
  churn(): Observable<MessageEvent> {
    return this.feed.churn();
  }
}

@Module({ controllers: [BuiltinController], providers: [Feed] })
class BuiltinModule {}

await startNestBenchServer(BuiltinModule);

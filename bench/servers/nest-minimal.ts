/**
 * The smallest hand-written Nest SSE handler, the floor of issue 11's churn target: `@Get()`
 * with `@Res()`, `writeHead`, a template-string frame per event, a subscription to the shared
 * Feed released on `close`. No heartbeat, no budget, no limits, no negotiation, no shutdown:
 * what a team writes in ten minutes before it needs any of those.
 *
 * GET /events: the stream. GET /churn: the same stream, opened with one event of its own.
 */
import 'reflect-metadata';
import { Controller, Get, type MessageEvent, Module, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { Observable } from 'rxjs';
import { Feed } from '../lib/feed.js';
import { startNestBenchServer } from '../lib/nest-bootstrap.js';

function pipeTo(res: ServerResponse, events: Observable<MessageEvent>): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
  const subscription = events.subscribe((event) => {
    res.write(`id: ${String(event.id)}\ndata: ${String(event.data)}\n\n`);
  });
  // /churn wrote its first frame (and the head with it) synchronously; /events has no event
  // yet, and its client waits for the head.
  if (!res.headersSent) res.flushHeaders();
  res.once('close', () => subscription.unsubscribe());
}

@Controller()
class MinimalController {
  constructor(private readonly feed: Feed) {}

  @Get('events')
  events(@Res() res: ServerResponse): void {
    pipeTo(res, this.feed.events());
  }

  @Get('churn')
  churn(@Res() res: ServerResponse): void {
    pipeTo(res, this.feed.churn());
  }
}

@Module({ controllers: [MinimalController], providers: [Feed] })
class MinimalModule {}

await startNestBenchServer(MinimalModule);

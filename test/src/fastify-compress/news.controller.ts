import { Body, Controller, Get, Header, RequestMethod } from '@nestjs/common';
import { defer, finalize, type Observable, of } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';
import { CleanupProbe } from '../cleanup/cleanup-probe.js';

/** Far above @fastify/compress's 1024-byte threshold, and compressible (repetitive JSON). */
export const NEWS = Array.from({ length: 200 }, (_, n) => ({ n, title: `headline ${n}` }));

/**
 * One path with a large plain answer (which @fastify/compress compresses) and a stream of what
 * the test pushes into the probe's subject; the probe sees each subscription and its teardown.
 */
@Controller('news')
export class NewsController {
  constructor(private readonly probe: CleanupProbe) {}

  @Get()
  list(): typeof NEWS {
    return NEWS;
  }

  /** Event-stream bytes as a plain answer: what onSend hooks see, unlike a stream's. */
  @Get('as-text')
  @Header('Content-Type', 'text/event-stream')
  asText(): string {
    return NEWS.map((item) => `data: ${JSON.stringify(item)}\n\n`).join('');
  }

  @EventStream()
  stream(): Observable<SseEvent> {
    return this.manual();
  }

  /** A route that lets intermediaries transform it: Express's `compression` would compress it. */
  @EventStream('transformable')
  @Header('Cache-Control', 'no-cache')
  transformable(): Observable<SseEvent> {
    return this.manual();
  }

  /** A POST stream whose body the client may send compressed (the plugin inflates it). */
  @EventStream('ask', { method: RequestMethod.POST })
  ask(@Body() body: { question: string }): Observable<SseEvent> {
    return of({ type: 'answer', data: { echo: body.question } });
  }

  private manual(): Observable<SseEvent> {
    return defer(() => {
      this.probe.onSubscribe();
      return this.probe.manual;
    }).pipe(finalize(() => this.probe.onFinalize()));
  }
}

import { Controller, Get, Header, Query, Req } from '@nestjs/common';
import { concat, finalize, map, type Observable, of } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';
import { browserPage } from './browser-page.js';
import { BrowserStreams } from './browser-streams.js';

/** The browser test's page and streams, served by the library (Express or Fastify alike). */
@Controller()
export class BrowserController {
  constructor(private readonly streams: BrowserStreams) {}

  @Get('page')
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(@Query('count') count: string): string {
    return browserPage(Number(count));
  }

  @EventStream('events')
  events(
    @Req() req: { httpVersion?: string; raw?: { httpVersion: string } },
  ): Observable<SseEvent> {
    const closed = this.streams.onOpen(req.raw?.httpVersion ?? req.httpVersion ?? '?');
    return concat(of('welcome'), this.streams.published).pipe(
      map((data) => ({ data })),
      finalize(closed),
    );
  }
}

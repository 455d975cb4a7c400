import { Controller, Get } from '@nestjs/common';
import { interval, map, NEVER, type Observable, take } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';

/**
 * The routes of the testing and proxy recipes: a plain answer and a stream on one path, and a
 * stream that never writes (only heartbeats keep it alive through a proxy).
 */
@Controller()
export class PricesController {
  @Get('prices')
  latest(): { symbol: string; price: number } {
    return { symbol: 'ACME', price: 100 };
  }

  @EventStream('prices')
  prices(): Observable<SseEvent> {
    return interval(10).pipe(
      take(3),
      map((n) => ({ type: 'price', id: String(n + 1), data: { symbol: 'ACME', price: 100 + n } })),
    );
  }

  @EventStream('quiet')
  quiet(): Observable<SseEvent> {
    return NEVER;
  }
}

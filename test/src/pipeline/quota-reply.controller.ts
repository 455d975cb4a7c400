import { Controller, type MessageEvent, UseFilters } from '@nestjs/common';
import { interval, map, type Observable, of, throwError } from 'rxjs';
import { EventStream } from '../../../src/index.js';
import { QuotaExceededError } from './quota-exceeded.error.js';
import { QuotaReplyFilter } from './quota-reply.filter.js';

/**
 * Handlers that fail before their stream opens, under a controller-level exception filter that
 * answers through the HTTP adapter (every platform), and siblings that do not fail.
 */
@Controller('quota')
@UseFilters(QuotaReplyFilter)
export class QuotaReplyController {
  @EventStream('sync')
  sync(): Observable<MessageEvent> {
    throw new QuotaExceededError(3);
  }

  @EventStream('async')
  async async(): Promise<Observable<MessageEvent>> {
    await Promise.resolve();
    throw new QuotaExceededError(5);
  }

  @EventStream('on-subscribe')
  onSubscribe(): Observable<MessageEvent> {
    return throwError(() => new QuotaExceededError(7));
  }

  @EventStream('ok')
  ok(): Observable<MessageEvent> {
    return of({ data: 'within quota' });
  }

  /** Ticks until the client leaves: a sibling that stays open while the others fail. */
  @EventStream('open')
  open(): Observable<MessageEvent> {
    return interval(10).pipe(map((n) => ({ data: `open ${n}` })));
  }
}

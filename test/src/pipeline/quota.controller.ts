import { Controller, type MessageEvent, UseFilters } from '@nestjs/common';
import { type Observable, of, throwError } from 'rxjs';
import { EventStream } from '../../../src/index.js';
import { QuotaExceededError } from './quota-exceeded.error.js';
import { QuotaFilter } from './quota.filter.js';

/** Handlers that fail before their stream opens, under a controller-level exception filter. */
@Controller('quota')
@UseFilters(QuotaFilter)
export class QuotaController {
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
}

import { Controller } from '@nestjs/common';
import { asapScheduler, NEVER, type Observable, observeOn, of } from 'rxjs';
import { EventStream, LastEventId, SseHub, type SseEvent } from '../../../src/index.js';

/** A hub stream, a stream that completes, and a route with a limit of one stream. */
@Controller('notifications')
export class NotificationsController {
  constructor(private readonly hub: SseHub) {}

  @EventStream()
  stream(@LastEventId() lastEventId?: string) {
    return this.hub.stream('news', { lastEventId });
  }

  /** Completes once open (a source that completes while it is attached never opens). */
  @EventStream('once')
  once(): Observable<SseEvent> {
    return of({ data: 'first' }, { data: 'second' }).pipe(observeOn(asapScheduler));
  }

  @EventStream('narrow', { maxConnections: 1 })
  narrow(): Observable<SseEvent> {
    return NEVER;
  }
}

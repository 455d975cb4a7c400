import { Controller, Query } from '@nestjs/common';
import { of, type Observable } from 'rxjs';
import { EventStream, LastEventId, SseHub, type SseEvent } from '../../../src/index.js';

@Controller('hub')
export class HubController {
  constructor(private readonly hub: SseHub) {}

  /** `/hub?channels=a,b`: the channels a client follows, resumed from its Last-Event-ID. */
  @EventStream()
  stream(@Query('channels') channels: string, @LastEventId() lastEventId?: string) {
    return this.hub.stream(channels.split(','), { lastEventId });
  }

  /** One event telling what `@LastEventId()` read from the request, then the end. */
  @EventStream('last-event-id')
  echo(@LastEventId() lastEventId?: string): Observable<SseEvent> {
    return of({ type: 'last-event-id', data: { lastEventId: lastEventId ?? null } });
  }
}

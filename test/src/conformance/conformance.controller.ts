import { Controller, Header, InternalServerErrorException, Param } from '@nestjs/common';
import {
  concat,
  finalize,
  interval,
  map,
  NEVER,
  type Observable,
  of,
  switchMap,
  throwError,
  timer,
} from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';
import { CleanupProbe } from '../cleanup/cleanup-probe.js';
import { EventFeed } from '../production/event-feed.js';

/** The events of `/c/events`, which the write-path suite also checks byte for byte. */
export const CONFORMANCE_EVENTS: readonly SseEvent[] = [
  { id: '1', type: 'greet', data: 'one' },
  { id: 2, data: { n: 2 } },
  { data: 'multi\nline' },
  { comment: 'note' },
  { id: '', data: 'id reset' },
];

/** The routes every conformance suite runs on every platform. */
@Controller('c')
export class ConformanceController {
  constructor(
    private readonly probe: CleanupProbe,
    private readonly feed: EventFeed,
  ) {}

  /** A few events, then the end. */
  @EventStream('events')
  events(): Observable<SseEvent> {
    return of(...CONFORMANCE_EVENTS);
  }

  /** An event, then the source fails once the stream is open. */
  @EventStream('fail')
  fail(): Observable<SseEvent> {
    return concat(
      of({ data: 'before' }),
      timer(5).pipe(
        switchMap(() => throwError(() => new InternalServerErrorException('kept from clients'))),
      ),
    );
  }

  /** Ticks until the client leaves; the probe sees the subscription and its teardown. */
  @EventStream('forever')
  forever(): Observable<SseEvent> {
    this.probe.onSubscribe();
    return interval(10).pipe(
      map((n) => ({ id: n, data: 'tick' })),
      finalize(() => this.probe.onFinalize()),
    );
  }

  /** Quiet: only heartbeats. */
  @EventStream('quiet')
  quiet(): Observable<SseEvent> {
    return NEVER;
  }

  /** A connection-specific header of the route's own: HTTP/2 drops it (with one warning). */
  @EventStream('keep-alive')
  @Header('Keep-Alive', 'timeout=5')
  @Header('X-Route', 'kept')
  keepAlive(): Observable<SseEvent> {
    return of({ data: 'kept' });
  }

  /** The feed channel `name`, which the test drives. */
  @EventStream('feed/:name')
  channel(@Param('name') name: string): Observable<SseEvent> {
    return this.feed.channel(name);
  }
}

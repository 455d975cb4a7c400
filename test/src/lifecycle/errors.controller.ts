import {
  ConflictException,
  Controller,
  ForbiddenException,
  type MessageEvent,
  NotFoundException,
  Query,
} from '@nestjs/common';
import { concat, map, Observable, of, throwError, timer } from 'rxjs';
import { EventStream } from '../../../src/index.js';

/** Internals an error may carry; they must never reach a client. */
export const SECRET = 'postgres://admin:hunter2@db.internal:5432';

const INVALID_EVENTS: Record<string, MessageEvent> = {
  'id-lf': { id: '2\nevent: injected', data: 'x' } as MessageEvent,
  'id-cr': { id: '2\revent: injected', data: 'x' } as MessageEvent,
  'id-nul': { id: '2\0injected', data: 'x' } as MessageEvent,
  'type-lf': { type: 'tick\nevent: injected', data: 'x' },
};

/** Streams that fail: before they open (an HTTP error) and after (a final event). */
@Controller('errors')
export class ErrorsController {
  @EventStream('thrown')
  thrown(): Observable<MessageEvent> {
    throw new Error(`cannot reach ${SECRET}`);
  }

  @EventStream('thrown-http')
  thrownHttp(): Observable<MessageEvent> {
    throw new ConflictException('Already streaming to this client');
  }

  @EventStream('on-subscribe')
  onSubscribe(): Observable<MessageEvent> {
    return throwError(() => new Error(`cannot reach ${SECRET}`));
  }

  /** Emits, then fails, both while being subscribed: nothing of it may be sent. */
  @EventStream('on-subscribe-after-event')
  onSubscribeAfterEvent(): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      subscriber.next({ data: 'premature' });
      subscriber.error(new Error(`cannot reach ${SECRET}`));
    });
  }

  @EventStream('on-subscribe-http')
  onSubscribeHttp(): Observable<MessageEvent> {
    return throwError(() => new NotFoundException('No such feed'));
  }

  @EventStream('after-open')
  afterOpen(): Observable<MessageEvent> {
    return concat(
      of({ data: 'first' }),
      timer(10).pipe(
        map((): MessageEvent => {
          throw new Error(`cannot reach ${SECRET}`);
        }),
      ),
    );
  }

  @EventStream('after-open-http')
  afterOpenHttp(): Observable<MessageEvent> {
    return concat(
      of({ data: 'first' }),
      timer(10).pipe(
        map((): MessageEvent => {
          throw new ForbiddenException('Subscription expired');
        }),
      ),
    );
  }

  /** A valid event, then one whose field would inject a line if it were written. */
  @EventStream('invalid-field')
  invalidField(@Query('field') field: string): Observable<MessageEvent> {
    const invalid = INVALID_EVENTS[field];
    if (invalid === undefined) throw new NotFoundException(`No invalid event "${field}"`);
    return concat(
      of({ data: 'before', id: '1' }),
      timer(10).pipe(map(() => invalid)),
      of({ data: 'after' }),
    );
  }

  @EventStream('route-error-event', { errorEvent: 'route-failure' })
  routeErrorEvent(): Observable<MessageEvent> {
    return concat(
      of({ data: 'first' }),
      timer(10).pipe(
        map((): MessageEvent => {
          throw new Error(`cannot reach ${SECRET}`);
        }),
      ),
    );
  }
}

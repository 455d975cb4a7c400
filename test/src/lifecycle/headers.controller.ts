import { Body, Controller, Header, type MessageEvent, RequestMethod } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { EventStream } from '../../../src/index.js';

/** Streams whose headers the route adjusts with `@Header()`. */
@Controller('headers')
export class HeadersController {
  @Header('Cache-Control', 'private, no-store')
  @EventStream('cache-control')
  cacheControl(): Observable<MessageEvent> {
    return of({ data: 'ok' });
  }

  @EventStream('charset')
  @Header('Content-Type', 'text/event-stream; charset=utf-8')
  charset(): Observable<MessageEvent> {
    return of({ data: 'ok' });
  }

  /** Only the parameters of a user Content-Type are kept: a stream stays text/event-stream. */
  @EventStream('foreign-type')
  @Header('Content-Type', 'application/json; charset=utf-8')
  foreignType(): Observable<MessageEvent> {
    return of({ data: 'ok' });
  }

  @EventStream('extra')
  @Header('X-Feed', 'prices')
  extra(): Observable<MessageEvent> {
    return of({ data: 'ok' });
  }

  @EventStream('post', { method: RequestMethod.POST })
  post(@Body() body: { question: string }): Observable<MessageEvent> {
    return of({ type: 'answer', data: `you asked: ${body.question}` });
  }
}

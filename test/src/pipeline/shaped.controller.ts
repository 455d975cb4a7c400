import { Controller, Header, type MessageEvent, UseInterceptors } from '@nestjs/common';
import { map, type Observable, of } from 'rxjs';
import { EventStream } from '../../../src/index.js';
import { MappingInterceptor } from './mapping.interceptor.js';

/** Streams shaped by the route: @Header() values, and a map() interceptor around the events. */
@Controller('shaped')
export class ShapedController {
  @EventStream('head')
  @Header('X-Feed', 'prices')
  @Header('Content-Type', 'text/event-stream; charset=utf-8')
  head(): Observable<MessageEvent> {
    return of({ data: 'headed' });
  }

  @UseInterceptors(MappingInterceptor)
  @EventStream('mapped')
  mapped(): Observable<MessageEvent> {
    // Where events are transformed: in the handler's own Observable.
    return of('a', 'b').pipe(map((letter) => ({ data: letter.toUpperCase() })));
  }
}

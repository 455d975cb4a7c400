import { Controller, Headers, type MessageEvent, Param, ParseIntPipe, Query } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { EventStream } from '../../../src/index.js';

/** Streams whose arguments come through Nest's parameter decorators and pipes. */
@Controller('params')
export class ParamsController {
  @EventStream('items/:id')
  item(@Param('id', ParseIntPipe) id: number): Observable<MessageEvent> {
    return of({ data: { id, type: typeof id } });
  }

  @EventStream('echo')
  echo(@Query('q') q: string, @Headers('x-client') client: string): Observable<MessageEvent> {
    return of({ data: { q, client } });
  }
}

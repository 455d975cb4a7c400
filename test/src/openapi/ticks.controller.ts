import { Controller } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { type Observable, of } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';
import { ApiEventStream } from '../../../src/openapi/index.js';

/** A stream-only route: documented on the stream handler itself, with its 406. */
@Controller('ticks')
export class TicksController {
  @EventStream()
  @ApiOperation({ summary: 'Clock ticks' })
  @ApiEventStream({ description: 'One tick a second.', schema: { type: 'integer' } })
  ticks(): Observable<SseEvent> {
    return of({ data: 1 });
  }
}

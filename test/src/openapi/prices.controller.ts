import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { type Observable, of } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';
import { ApiEventStream } from '../../../src/openapi/index.js';

/**
 * A paired route the other way round: the stream handler first, @ApiEventStream() above
 * @EventStream(), and the plain handler after it (the one Swagger alone would keep).
 */
@Controller('prices')
export class PricesController {
  @ApiEventStream()
  @EventStream()
  stream(): Observable<SseEvent> {
    return of({ data: '101.5' });
  }

  @Get()
  @ApiOperation({ summary: 'The current price' })
  @ApiOkResponse({ description: 'The price.', schema: { type: 'number' }, example: 101.5 })
  current(): number {
    return 101.5;
  }
}

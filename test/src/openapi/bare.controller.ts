import { Controller, Get } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { type Observable, of } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';
import { ApiEventStream } from '../../../src/openapi/index.js';

/** A paired route whose plain handler documents no response: Swagger's default 200 is kept. */
@Controller('bare')
export class BareController {
  @Get()
  @ApiOperation({ summary: 'Bare' })
  plain(): string {
    return 'bare';
  }

  @EventStream()
  @ApiEventStream()
  stream(): Observable<SseEvent> {
    return of({ data: 'bare' });
  }
}

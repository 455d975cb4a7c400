import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { type Observable, of } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';

/** Why @ApiEventStream() exists: without it, the stream twin declared last replaces these docs. */
@Controller('undocumented')
export class UndocumentedController {
  @Get()
  @ApiOperation({ summary: 'Plain docs that Swagger drops' })
  @ApiOkResponse({ description: 'Lost.', schema: { type: 'string' } })
  plain(): string {
    return 'plain';
  }

  @EventStream()
  stream(): Observable<SseEvent> {
    return of({ data: 'stream' });
  }
}

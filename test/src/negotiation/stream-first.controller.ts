import { Controller, Get, type MessageEvent } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { EventStream } from '../../../src/index.js';

/** The stream declared before the plain handler of the same path. */
@Controller('stream-first')
export class StreamFirstController {
  @EventStream()
  stream(): Observable<MessageEvent> {
    return of({ data: 'stream-first.stream' });
  }

  @Get()
  plain(): { handler: string } {
    return { handler: 'stream-first.plain' };
  }
}

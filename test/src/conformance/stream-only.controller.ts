import { Controller, type MessageEvent } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { EventStream } from '../../../src/index.js';

/** A path with only a stream: a client that refuses event streams gets 406. */
@Controller('only')
export class StreamOnlyController {
  @EventStream()
  only(): Observable<MessageEvent> {
    return of({ data: 'only' });
  }
}

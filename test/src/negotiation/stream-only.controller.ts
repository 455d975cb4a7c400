import { Controller, type MessageEvent } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { EventStream } from '../../../src/index.js';

/** A path with no plain handler: everything that accepts a stream gets one. */
@Controller('stream-only')
export class StreamOnlyController {
  @EventStream()
  stream(): Observable<MessageEvent> {
    return of({ data: 'stream-only.stream' });
  }
}

import { Controller } from '@nestjs/common';
import { NEVER, type Observable } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';

/** Streams the server ends itself: by `StreamRegistry.close()`, or at the end of their lifetime. */
@Controller('control')
export class ControlController {
  @EventStream('feed')
  feed(): Observable<SseEvent> {
    return NEVER;
  }

  @EventStream('other')
  other(): Observable<SseEvent> {
    return NEVER;
  }

  @EventStream('short', { maxLifetimeMs: 1000 })
  short(): Observable<SseEvent> {
    return NEVER;
  }
}

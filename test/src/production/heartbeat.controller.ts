import { Controller } from '@nestjs/common';
import { interval, map, NEVER, type Observable } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';

/** Idle and busy streams, on the module's heartbeat interval and on intervals of their own. */
@Controller('heartbeat')
export class HeartbeatController {
  @EventStream('idle')
  idle(): Observable<SseEvent> {
    return NEVER;
  }

  @EventStream('busy')
  busy(): Observable<SseEvent> {
    return interval(20).pipe(map((i) => ({ id: i, data: 'tick' })));
  }

  @EventStream('silent', { heartbeatMs: 0 })
  silent(): Observable<SseEvent> {
    return NEVER;
  }

  @EventStream('slow-beat', { heartbeatMs: 250 })
  slowBeat(): Observable<SseEvent> {
    return NEVER;
  }

  @EventStream('hinted', { retryMs: 2500 })
  hinted(): Observable<SseEvent> {
    return NEVER;
  }
}

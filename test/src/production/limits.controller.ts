import { Controller } from '@nestjs/common';
import { NEVER, type Observable } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';
import { CallLog } from '../../support/call-log.js';

/** Streams that stay open, and count every run of their handler. */
@Controller('limits')
export class LimitsController {
  constructor(private readonly log: CallLog) {}

  @EventStream('open')
  open(): Observable<SseEvent> {
    this.log.record('limits.open');
    return NEVER;
  }

  @EventStream('narrow', { maxConnections: 1 })
  narrow(): Observable<SseEvent> {
    this.log.record('limits.narrow');
    return NEVER;
  }
}

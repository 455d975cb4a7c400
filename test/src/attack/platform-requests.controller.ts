import { Controller, Req, UseGuards } from '@nestjs/common';
import { concat, NEVER, type Observable, of } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';
import { RequestProbe } from './request-probe.js';
import { RequestTagGuard } from './request-tag.guard.js';

/** Streams behind a guard that sets `request.user`: one that opens at once, one async. */
@Controller('accounts')
@UseGuards(RequestTagGuard)
export class PlatformRequestsController {
  constructor(private readonly probe: RequestProbe) {}

  /** One `open` event, then open until the client leaves. */
  @EventStream(':id/events')
  events(@Req() request: object): Observable<SseEvent> {
    this.probe.handedGuardedRequest.push(this.probe.guarded.has(request));
    return concat(of({ type: 'open', data: 'open' }), NEVER);
  }

  /** One event, then the end: a stream the server ends. */
  @EventStream(':id/once')
  once(): Observable<SseEvent> {
    return of({ data: 'once' });
  }

  /** An async set-up that waits for the probe's gate before it returns its source. */
  @EventStream(':id/slow')
  async slow(): Promise<Observable<SseEvent>> {
    await this.probe.enterSlow();
    this.probe.slowReturned();
    return of({ data: 'late' });
  }
}

import { Controller, Get, type MessageEvent } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { EventStream } from '../../../src/index.js';
import { CallLog } from '../../support/call-log.js';

/** A plain handler declared before the stream of the same path. */
@Controller('feed')
export class FeedController {
  constructor(private readonly log: CallLog) {}

  @Get()
  plain(): { handler: string } {
    this.log.record('feed.plain');
    return { handler: 'feed.plain' };
  }

  @EventStream()
  stream(): Observable<MessageEvent> {
    this.log.record('feed.stream');
    return of({ data: 'feed.stream' });
  }
}

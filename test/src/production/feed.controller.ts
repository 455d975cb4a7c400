import { Controller, Param } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';
import { CallLog } from '../../support/call-log.js';
import { EventFeed } from './event-feed.js';

/** `/feed/:name` streams the channel of that name, which the test drives. */
@Controller('feed')
export class FeedController {
  constructor(
    private readonly feed: EventFeed,
    private readonly log: CallLog,
  ) {}

  @EventStream(':name')
  stream(@Param('name') name: string): Observable<SseEvent> {
    this.log.record(`feed.${name}`);
    return this.feed.channel(name);
  }
}

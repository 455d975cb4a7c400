import { Controller } from '@nestjs/common';
import { EventStream, LastEventId, SseHub } from '../../../src/index.js';

@Controller()
export class FeedController {
  constructor(private readonly hub: SseHub) {}

  /** `/feed`: the `feed` channel, resumed from the client's Last-Event-ID. */
  @EventStream('feed')
  feed(@LastEventId() lastEventId?: string) {
    return this.hub.stream('feed', { lastEventId });
  }
}

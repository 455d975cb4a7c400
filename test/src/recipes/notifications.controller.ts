import { Controller, Req, UseGuards } from '@nestjs/common';
import { EventStream, LastEventId, SseHub } from '../../../src/index.js';
import { type AuthedRequest, SessionGuard } from './session.guard.js';

/** The README's auth recipe: each signed-in user streams their own channel, `user:<id>`. */
@Controller('notifications')
export class NotificationsController {
  constructor(private readonly hub: SseHub) {}

  @EventStream()
  @UseGuards(SessionGuard)
  stream(@Req() req: AuthedRequest, @LastEventId() lastEventId?: string) {
    return this.hub.stream(`user:${req.user.id}`, { lastEventId });
  }
}

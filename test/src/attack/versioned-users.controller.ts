import { Controller } from '@nestjs/common';
import { concat, NEVER, type Observable, of } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';

/** A stream under URI versioning (`/v1/...`), for the route template with prefix and version. */
@Controller({ path: 'users', version: '1' })
export class VersionedUsersController {
  @EventStream(':id/events')
  events(): Observable<SseEvent> {
    return concat(of({ type: 'open', data: 'open' }), NEVER);
  }
}

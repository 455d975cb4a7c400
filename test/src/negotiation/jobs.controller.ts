import { Controller, type MessageEvent, Param } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { EventStream, type NoContent, noContent } from '../../../src/index.js';

/** A job's progress; a finished job answers 204, which tells an EventSource to stop reconnecting. */
@Controller('jobs')
export class JobsController {
  @EventStream(':id')
  progress(@Param('id') id: string): Observable<MessageEvent> | NoContent {
    return id === 'done' ? noContent() : of({ data: `progress of ${id}` });
  }

  @EventStream(':id/async')
  async progressAfterLookup(
    @Param('id') id: string,
  ): Promise<Observable<MessageEvent> | NoContent> {
    const done = await Promise.resolve(id === 'done');
    return done ? noContent() : of({ data: `progress of ${id}` });
  }
}

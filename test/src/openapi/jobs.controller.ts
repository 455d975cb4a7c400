import { Controller, Post, RequestMethod } from '@nestjs/common';
import { ApiCreatedResponse } from '@nestjs/swagger';
import { type Observable, of } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';
import { ApiEventStream } from '../../../src/openapi/index.js';

/** A paired POST: the plain handler answers 201, the stream 200, two responses of one operation. */
@Controller('jobs')
export class JobsController {
  @Post()
  @ApiCreatedResponse({ description: 'The job was queued.', schema: { type: 'object' } })
  create(): { id: string } {
    return { id: 'j1' };
  }

  @EventStream('', { method: RequestMethod.POST })
  @ApiEventStream({ description: 'The job run, step by step.' })
  run(): Observable<SseEvent> {
    return of({ data: 'done' });
  }
}

import { Controller, HttpCode, Param, ParseIntPipe, Post, Query } from '@nestjs/common';
import { EventStream, LastEventId, SseHub } from '../../../src/index.js';
import { JobRunner } from './job-runner.js';

/** The README's resumable-producer recipe: start a job, stream its channel, resume anywhere. */
@Controller('jobs')
export class JobsController {
  constructor(
    private readonly hub: SseHub,
    private readonly runner: JobRunner,
  ) {}

  @Post(':id')
  @HttpCode(202)
  start(
    @Param('id') id: string,
    @Query('steps', ParseIntPipe) steps: number,
    @Query('intervalMs', ParseIntPipe) intervalMs: number,
  ): { id: string } {
    this.runner.start(id, steps, intervalMs);
    return { id };
  }

  @EventStream(':id')
  progress(@Param('id') id: string, @LastEventId() lastEventId?: string) {
    return this.hub.stream(`job:${id}`, { lastEventId });
  }
}

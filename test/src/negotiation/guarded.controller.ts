import { Controller, Get, type MessageEvent, UseGuards } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { EventStream } from '../../../src/index.js';
import { CallLog } from '../../support/call-log.js';
import { Roles } from './roles.decorator.js';
import { RolesGuard } from './roles.guard.js';

/** Each handler of the path has its own roles: `reader` for the plain one, `streamer` for the stream. */
@Controller('guarded')
export class GuardedController {
  constructor(private readonly log: CallLog) {}

  @Get()
  @UseGuards(RolesGuard)
  @Roles(['reader'])
  plain(): { handler: string } {
    this.log.record('guarded.plain');
    return { handler: 'guarded.plain' };
  }

  @EventStream()
  @UseGuards(RolesGuard)
  @Roles(['streamer'])
  stream(): Observable<MessageEvent> {
    this.log.record('guarded.stream');
    return of({ data: 'guarded.stream' });
  }
}

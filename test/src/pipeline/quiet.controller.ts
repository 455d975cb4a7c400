import { Controller, Get, type MessageEvent } from '@nestjs/common';
import { map, type Observable, timer } from 'rxjs';
import { EventStream } from '../../../src/index.js';

/** Longer than the global timeout: a quiet stream, and a slow plain answer. */
export const QUIET_DELAY_MS = 300;

@Controller('quiet')
export class QuietController {
  @EventStream()
  stream(): Observable<MessageEvent> {
    return timer(QUIET_DELAY_MS).pipe(map(() => ({ data: 'finally' })));
  }

  @Get('slow')
  slow(): Observable<string> {
    return timer(QUIET_DELAY_MS).pipe(map(() => 'too late'));
  }
}

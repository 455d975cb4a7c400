import { Controller, Get, type MessageEvent } from '@nestjs/common';
import { interval, map, type Observable } from 'rxjs';
import { EventStream } from '../../../src/index.js';

/** The README's Quick start: a plain handler and a stream on one path. */
@Controller()
export class QuickStartController {
  @Get()
  ok(): string {
    return 'ok';
  }

  @EventStream()
  hello(): Observable<MessageEvent> {
    return interval(20).pipe(map((n) => ({ type: 'message', data: `hello ${n}`, id: String(n) })));
  }
}

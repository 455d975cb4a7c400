import { Controller, HttpCode, type MessageEvent } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { EventStream } from '../../../src/index.js';

/** `@HttpCode()` written below `@EventStream()`: applied first, to the original method. */
@Controller('accepted')
export class HttpCodeBelowController {
  @EventStream()
  @HttpCode(202)
  stream(): Observable<MessageEvent> {
    return of({ data: 'never served' });
  }
}

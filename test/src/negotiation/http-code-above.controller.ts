import { Controller, HttpCode, type MessageEvent } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { EventStream } from '../../../src/index.js';

/** `@HttpCode()` written above `@EventStream()`: applied last, to the stream handler itself. */
@Controller('created')
export class HttpCodeAboveController {
  @HttpCode(201)
  @EventStream()
  stream(): Observable<MessageEvent> {
    return of({ data: 'never served' });
  }
}

import { Controller, Get, Header, type MessageEvent } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { EventStream } from '../../../src/index.js';

/**
 * Responses that already vary on something else: `Origin`, set by a middleware
 * (see NegotiationAppModule) or by `@Header()`.
 */
@Controller('vary')
export class VaryController {
  @Get('middleware')
  plainBehindMiddleware(): { handler: string } {
    return { handler: 'vary.middleware.plain' };
  }

  @EventStream('middleware')
  streamBehindMiddleware(): Observable<MessageEvent> {
    return of({ data: 'vary.middleware.stream' });
  }

  @Get('header')
  @Header('Vary', 'Origin')
  plainWithHeader(): { handler: string } {
    return { handler: 'vary.header.plain' };
  }

  @EventStream('header')
  @Header('Vary', 'Origin')
  streamWithHeader(): Observable<MessageEvent> {
    return of({ data: 'vary.header.stream' });
  }
}

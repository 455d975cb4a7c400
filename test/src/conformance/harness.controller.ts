import { Controller, Get, type MessageEvent, Sse } from '@nestjs/common';
import { interval, map, type Observable } from 'rxjs';

/** Nothing of the library: what proves the platform harness itself on every row. */
@Controller('harness')
export class HarnessController {
  @Get('plain') plain() {
    return 'plain';
  }

  /** Nest's own `@Sse()`, which runs on every platform: the test helpers' counterpart. */
  @Sse('builtin')
  builtin(): Observable<MessageEvent> {
    return interval(20).pipe(map((n) => ({ data: `builtin ${n}` })));
  }
}

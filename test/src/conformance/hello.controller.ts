import { Controller, Get, type MessageEvent } from '@nestjs/common';
import { defer, finalize, interval, map, type Observable } from 'rxjs';
import { EventStream } from '../../../src/index.js';
import { CleanupProbe } from '../cleanup/cleanup-probe.js';

/** The README's quick start, with a short interval and its source counted from inside. */
@Controller()
export class HelloController {
  constructor(private readonly probe: CleanupProbe) {}

  @Get() ok() {
    return 'ok';
  }

  @EventStream()
  hello(): Observable<MessageEvent> {
    return defer(() => {
      this.probe.onSubscribe();
      return interval(20);
    }).pipe(
      map(() => ({ type: 'message', data: 'hello', id: '1' })),
      finalize(() => this.probe.onFinalize()),
    );
  }
}

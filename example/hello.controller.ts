import { Controller, Get, Header, Inject, type MessageEvent } from '@nestjs/common';
import { interval, map, type Observable } from 'rxjs';
import { EventStream } from '../src/index.js';
import { DEMO_PAGE } from './demo-page.js';
import { HELLO_INTERVAL_MS } from './hello.constants.js';

/** The seed's server: `hello` every 2 s to event-stream clients, `ok` to everyone else. */
@Controller()
export class HelloController {
  constructor(@Inject(HELLO_INTERVAL_MS) private readonly intervalMs: number) {}

  @Get()
  ok(): string {
    return 'ok';
  }

  @EventStream()
  hello(): Observable<MessageEvent> {
    return interval(this.intervalMs).pipe(map(() => ({ type: 'message', data: 'hello', id: '1' })));
  }

  @Get('demo')
  @Header('Content-Type', 'text/html; charset=utf-8')
  demo(): string {
    return DEMO_PAGE;
  }
}

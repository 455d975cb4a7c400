import { Controller, Get, type MessageEvent, Version } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { EventStream } from '../../../src/index.js';

/** Version 1: a plain handler and a stream; version 2: a plain handler only. */
@Controller('versions')
export class VersionsController {
  @Version('1')
  @Get()
  plainV1(): { handler: string } {
    return { handler: 'v1.plain' };
  }

  @Version('1')
  @EventStream()
  streamV1(): Observable<MessageEvent> {
    return of({ data: 'v1.stream' });
  }

  @Version('2')
  @Get()
  plainV2(): { handler: string } {
    return { handler: 'v2.plain' };
  }
}

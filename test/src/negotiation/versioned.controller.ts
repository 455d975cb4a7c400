import { Controller, Get, type MessageEvent, Version } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { EventStream } from '../../../src/index.js';

/** Version 1 has a plain handler and a stream; version 2 only a plain handler. */
@Controller('versioned')
export class VersionedController {
  @Version('1')
  @Get()
  plainV1(): { handler: string } {
    return { handler: 'versioned.v1.plain' };
  }

  @Version('1')
  @EventStream()
  streamV1(): Observable<MessageEvent> {
    return of({ data: 'versioned.v1.stream' });
  }

  @Version('2')
  @Get()
  plainV2(): { handler: string } {
    return { handler: 'versioned.v2.plain' };
  }
}

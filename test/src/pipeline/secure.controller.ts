import { Controller, type MessageEvent, UseGuards } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { EventStream } from '../../../src/index.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { BearerGuard } from './bearer.guard.js';
import { PipelineProbe } from './pipeline-probe.js';

/** Streams behind guards: one returns false, one throws. */
@Controller('secure')
export class SecureController {
  constructor(private readonly probe: PipelineProbe) {}

  @EventStream('bearer')
  @UseGuards(BearerGuard)
  bearer(): Observable<MessageEvent> {
    this.probe.record('secure.bearer');
    return of({ data: 'secret feed' });
  }

  @UseGuards(ApiKeyGuard)
  @EventStream('api-key')
  apiKey(): Observable<MessageEvent> {
    this.probe.record('secure.api-key');
    return of({ data: 'keyed feed' });
  }
}

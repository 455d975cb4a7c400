import { Controller, type MessageEvent, UseInterceptors } from '@nestjs/common';
import { interval, map, type Observable, take } from 'rxjs';
import { EventStream, EventStreamSignal } from '../../../src/index.js';
import { PipelineProbe } from './pipeline-probe.js';
import { RecordingInterceptor } from './recording.interceptor.js';

/** A stream under a logging interceptor, and streams that take the disconnect signal. */
@Controller('observed')
export class ObservedController {
  constructor(private readonly probe: PipelineProbe) {}

  @EventStream('intercepted')
  @UseInterceptors(RecordingInterceptor)
  intercepted(): Observable<MessageEvent> {
    return interval(5).pipe(
      take(3),
      map((n) => ({ data: `event ${n}` })),
    );
  }

  @EventStream('signal')
  signal(@EventStreamSignal() signal: AbortSignal): Observable<MessageEvent> {
    this.probe.watch(signal);
    return interval(10).pipe(map((n) => ({ data: `tick ${n}` })));
  }

  /** Async setup that only ends when the client goes away, as a fetch given the signal would. */
  @EventStream('signal-during-setup')
  async signalDuringSetup(
    @EventStreamSignal() signal: AbortSignal,
  ): Promise<Observable<MessageEvent>> {
    this.probe.watch(signal);
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    return interval(10).pipe(map((n) => ({ data: `tick ${n}` })));
  }
}

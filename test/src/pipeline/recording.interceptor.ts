import { type CallHandler, Injectable, type NestInterceptor } from '@nestjs/common';
import { type Observable, tap } from 'rxjs';
import { PipelineProbe } from './pipeline-probe.js';

/** A logging interceptor: records every value and the completion it sees. */
@Injectable()
export class RecordingInterceptor implements NestInterceptor {
  constructor(private readonly probe: PipelineProbe) {}

  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      tap({
        next: (value) => this.probe.intercepted.push(value),
        complete: () => (this.probe.interceptedCompleted = true),
      }),
    );
  }
}

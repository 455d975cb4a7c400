import { Controller } from '@nestjs/common';
import { defer, finalize, interval, map, type Observable } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';
import { CleanupProbe } from './cleanup-probe.js';

@Controller()
export class CleanupController {
  constructor(private readonly probe: CleanupProbe) {}

  /** A tick every 5 ms, forever: only a disconnect can stop it. */
  @EventStream('ticks')
  ticks(): Observable<SseEvent> {
    return defer(() => {
      this.probe.onSubscribe();
      return interval(5);
    }).pipe(
      map((n) => ({ type: 'tick', id: String(n), data: { n } })),
      finalize(() => this.probe.onFinalize()),
    );
  }

  /** Emits what the test pushes into the probe's subject. */
  @EventStream('manual')
  manual(): Observable<SseEvent> {
    return this.probe.manual.asObservable();
  }
}

import {
  Controller,
  ForbiddenException,
  Get,
  Header,
  type MessageEvent,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { finalize, interval, map, NEVER, Observable, of } from 'rxjs';
import { EventStream, EventStreamSignal, LastEventId } from '../../../src/index.js';
import { CountingInterceptor } from './counting.interceptor.js';
import { FastifyProbe } from './fastify-probe.js';
import { KeyGuard } from './key.guard.js';

/** One route per behaviour the Fastify suite checks. */
@Controller('f')
export class FeaturesController {
  constructor(private readonly probe: FastifyProbe) {}

  @EventStream('only')
  only(): Observable<MessageEvent> {
    return of({ data: 'only' });
  }

  @Get('vary')
  @Header('Vary', 'Origin')
  varyPlain(): { handler: string } {
    return { handler: 'vary.plain' };
  }

  @EventStream('vary')
  @Header('Vary', 'Origin')
  varyStream(): Observable<MessageEvent> {
    return of({ data: 'vary.stream' });
  }

  @EventStream('custom')
  @Header('X-Custom', 'kept')
  @Header('Cache-Control', 'no-store')
  custom(): Observable<MessageEvent> {
    return of({ data: 'custom' });
  }

  @EventStream('guarded')
  @UseGuards(KeyGuard)
  @UseInterceptors(CountingInterceptor)
  guarded(): Observable<MessageEvent> {
    return of({ data: 'guarded' });
  }

  @EventStream('fails')
  async fails(): Promise<Observable<MessageEvent>> {
    await Promise.resolve();
    throw new ForbiddenException('not yours');
  }

  @EventStream('ticks')
  ticks(): Observable<MessageEvent> {
    return interval(50).pipe(
      map((n) => ({ data: String(n) })),
      finalize(() => this.probe.release('ticks')),
    );
  }

  @EventStream('resume')
  resume(
    @LastEventId() lastEventId: string | undefined,
    @EventStreamSignal() signal: AbortSignal,
  ): Observable<MessageEvent> {
    signal.addEventListener('abort', () => this.probe.abort('resume'));
    return new Observable<MessageEvent>((subscriber) => {
      subscriber.next({ data: { lastEventId: lastEventId ?? null } });
      return NEVER.subscribe(subscriber);
    }).pipe(finalize(() => this.probe.release('resume')));
  }
}

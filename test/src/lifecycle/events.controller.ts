import { Controller, type MessageEvent, Param } from '@nestjs/common';
import {
  defer,
  finalize,
  interval,
  map,
  NEVER,
  Observable,
  of,
  range,
  startWith,
  take,
  takeUntil,
  tap,
} from 'rxjs';
import { EventStream, EventStreamSignal } from '../../../src/index.js';
import { LifecycleProbe } from './lifecycle-probe.js';

/** Streams that run, stay open, complete, and carry data a parser must read back exactly. */
@Controller('events')
export class EventsController {
  constructor(private readonly probe: LifecycleProbe) {}

  /** Named events every 10 ms, forever; counted teardown. */
  @EventStream('ticks')
  ticks(): Observable<MessageEvent> {
    return this.counted(
      interval(10).pipe(map((n) => ({ type: 'tick', data: `tick ${n}`, id: String(n) }))),
    );
  }

  /** One event, then nothing until the client leaves. */
  @EventStream('forever')
  forever(): Observable<MessageEvent> {
    return this.counted(NEVER.pipe(startWith({ data: 'open' })));
  }

  /** Nothing at all until the client leaves. */
  @EventStream('silent')
  silent(): Observable<MessageEvent> {
    return this.counted(NEVER);
  }

  /** Async setup that only ends once the client has gone away. */
  @EventStream('abandoned-setup')
  async abandonedSetup(
    @EventStreamSignal() signal: AbortSignal,
  ): Promise<Observable<MessageEvent>> {
    this.probe.setupStarted();
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    return this.counted(NEVER);
  }

  /** Three events over time, then completion. */
  @EventStream('finite')
  finite(): Observable<MessageEvent> {
    return this.counted(
      interval(5).pipe(
        take(3),
        map((n) => ({ data: `n${n}` })),
      ),
    );
  }

  @EventStream('payloads')
  payloads(): Observable<MessageEvent> {
    return of(
      { data: 'line one\nline two\r\nline three\rline four' },
      { data: 'data: fake\n\nevent: injected\nid: 666' },
      { data: '' },
      { data: ' leading space, trailing space ' },
      {
        type: 'json',
        data: { user: { name: 'Ada', bio: 'a\nb' }, tags: ['x', 'y'], n: 1.5, none: null },
      },
      { type: 'unicode', id: 'é-1', data: 'héllo 🌍 ✓' },
    );
  }

  /**
   * A source that unsubscribes its own subscriber, while the stream is being attached (`sync`)
   * or once it is open: the stream ends as if it completed, and the teardown runs once.
   */
  @EventStream('self-unsubscribing/:when')
  selfUnsubscribing(@Param('when') when: string): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      this.probe.subscribe();
      subscriber.next({ data: 'before' });
      if (when === 'sync') subscriber.unsubscribe();
      else queueMicrotask(() => subscriber.unsubscribe());
      return () => this.probe.finalize();
    });
  }

  /** An endless synchronous producer cut by take(3): it must stop after three values. */
  @EventStream('take-of-endless')
  takeOfEndless(): Observable<MessageEvent> {
    return range(0, 5_000_000).pipe(
      tap(() => this.probe.produced++),
      map((n) => ({ data: `n${n}` })),
      take(3),
    );
  }

  /** A notifier that fired before the source was subscribed: nothing is emitted. */
  @EventStream('already-stopped')
  alreadyStopped(): Observable<MessageEvent> {
    return of({ data: 'a' }, { data: 'b' }).pipe(takeUntil(of(true)));
  }

  /** The probe's shared subject, with a teardown that throws. */
  @EventStream('throwing-teardown')
  throwingTeardown(): Observable<MessageEvent> {
    return this.probe.shared.pipe(
      finalize(() => {
        throw new Error('teardown failed');
      }),
    );
  }

  private counted(source: Observable<MessageEvent>): Observable<MessageEvent> {
    return defer(() => {
      this.probe.subscribe();
      return source;
    }).pipe(finalize(() => this.probe.finalize()));
  }
}

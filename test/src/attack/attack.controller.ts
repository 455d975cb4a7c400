import { Controller, Get, Header, Query } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { concat, defer, from, map, NEVER, Observable, of, throwError, timer } from 'rxjs';
import { EventStream, EventStreamSignal, type SseEvent } from '../../../src/index.js';
import { AttackProbe } from './attack-probe.js';
import { EXOTIC, hugeData } from './exotic-values.js';

const KiB = 1024;

/** One row: some 100 bytes on the wire, its id its position. */
export function row(n: number): SseEvent {
  return { id: n, data: `row ${n} ${'r'.repeat(80)}` };
}

/** `n` rows, `perTurn` at a time synchronously, a macrotask between runs; then completes. */
function interleaved(n: number, perTurn: number, probe?: AttackProbe): Observable<SseEvent> {
  return new Observable<SseEvent>((subscriber) => {
    let next = 0;
    let pending: NodeJS.Immediate | undefined;
    const run = () => {
      for (let i = 0; i < perTurn && next < n && !subscriber.closed; i++)
        subscriber.next(row(next++));
      if (next >= n) subscriber.complete();
      else pending = setImmediate(run);
    };
    run();
    return () => {
      probe?.count('interleaved-teardown');
      if (pending !== undefined) clearImmediate(pending);
    };
  });
}

/** A ReadableStream shared by every request (the second one finds it locked). */
const shared = new ReadableStream<SseEvent>({
  start(controller) {
    controller.enqueue({ data: 'shared' });
  },
});

@Controller('atk')
export class AttackController {
  constructor(private readonly probe: AttackProbe) {}

  /** A good event, then (on a later tick) the exotic value, then a good event, then the end. */
  @EventStream('value')
  value(@Query('kind') kind: string): Observable<SseEvent> {
    return concat(
      of({ data: 'first' }),
      timer(1).pipe(map(() => EXOTIC[kind]!.make() as SseEvent)),
      of({ data: 'after' }),
    );
  }

  /** The exotic value as the first, synchronous emission (before the stream opened). */
  @EventStream('value-first')
  valueFirst(@Query('kind') kind: string): Observable<SseEvent> {
    return concat(
      defer(() => of(EXOTIC[kind]!.make() as SseEvent)),
      of({ data: 'after' }),
    );
  }

  /** One event of `bytes` bytes of data, on a later tick. */
  @EventStream('huge', { maxBufferedBytes: 64 * KiB })
  huge(@Query('bytes') bytes: string): Observable<SseEvent> {
    return concat(
      timer(1).pipe(map(() => ({ data: hugeData(Number(bytes)) }))),
      of({ data: 'after' }),
    );
  }

  /** A synchronous burst after an async set-up (before the head), within 64 KiB. */
  @EventStream('setup-burst-close', { maxBufferedBytes: 64 * KiB })
  async setupBurstClose(@Query('n') n: string): Promise<Observable<SseEvent>> {
    await sleep(1);
    return from(Array.from({ length: Number(n) }, (_, i) => row(i)));
  }

  @EventStream('setup-burst-drop', { maxBufferedBytes: 64 * KiB, slowClientPolicy: 'drop-oldest' })
  async setupBurstDrop(@Query('n') n: string): Promise<Observable<SseEvent>> {
    await sleep(1);
    return from(Array.from({ length: Number(n) }, (_, i) => row(i)));
  }

  /** A synchronous burst once the stream is open (on a timer). */
  @EventStream('open-burst-drop', { maxBufferedBytes: 64 * KiB, slowClientPolicy: 'drop-oldest' })
  openBurstDrop(@Query('n') n: string): Observable<SseEvent> {
    return concat(of({ data: 'start' }), timer(1).pipe(map(() => null))).pipe(
      (source) =>
        new Observable<SseEvent>((subscriber) =>
          source.subscribe({
            next: (value) => {
              if (value !== null) return subscriber.next(value);
              for (let i = 0; i < Number(n) && !subscriber.closed; i++) subscriber.next(row(i));
              subscriber.complete();
            },
            error: (error: unknown) => subscriber.error(error),
          }),
        ),
    );
  }

  /** Bursts interleaved with macrotasks, drop-oldest within 64 KiB. */
  @EventStream('interleaved-drop', { maxBufferedBytes: 64 * KiB, slowClientPolicy: 'drop-oldest' })
  interleavedDrop(@Query('n') n: string, @Query('per') per: string): Observable<SseEvent> {
    return interleaved(Number(n), Number(per), this.probe);
  }

  @EventStream('interleaved-close', { maxBufferedBytes: 64 * KiB })
  interleavedClose(@Query('n') n: string, @Query('per') per: string): Observable<SseEvent> {
    return interleaved(Number(n), Number(per), this.probe);
  }

  /** Interleaved bursts on the module's budgets (for the application-wide one). */
  @EventStream('interleaved-default')
  interleavedDefault(@Query('n') n: string, @Query('per') per: string): Observable<SseEvent> {
    return interleaved(Number(n), Number(per), this.probe);
  }

  /** A quiet stream: one event, then nothing. */
  @EventStream('quiet')
  quiet(): Observable<SseEvent> {
    return concat(of({ data: 'hello' }), NEVER);
  }

  /** An async set-up that waits for the `setup` gate, then emits and stays open. */
  @EventStream('gated')
  async gated(@EventStreamSignal() signal: AbortSignal): Promise<Observable<SseEvent>> {
    this.probe.count('setup');
    signal.addEventListener('abort', () => this.probe.count('abort'));
    await this.probe.gate('setup');
    this.probe.count('setup-done');
    return new Observable<SseEvent>((subscriber) => {
      this.probe.count('subscribed');
      subscriber.next({ data: 'ok' });
      return () => this.probe.count('teardown');
    });
  }

  /** An Observable that lets go of its subscriber itself, in the given state. */
  @EventStream('self-unsubscribe')
  selfUnsubscribe(@Query('when') when: string): Observable<SseEvent> {
    return new Observable<SseEvent>((subscriber) => {
      if (when === 'sync-before-event') subscriber.unsubscribe();
      subscriber.next({ data: 'one' });
      if (when === 'sync-after-event') subscriber.unsubscribe();
      if (when === 'later') setTimeout(() => subscriber.unsubscribe(), 1);
      return () => this.probe.count('teardown');
    });
  }

  /** Error or completion in a given state; `value` is what the error is. */
  @EventStream('ends')
  ends(@Query('how') how: string): Observable<SseEvent> {
    switch (how) {
      case 'empty':
        return from([]);
      case 'error-undefined-sync':
        return throwError(() => undefined);
      case 'error-undefined-later':
        return concat(
          of({ data: 'one' }),
          timer(1).pipe(
            map(() => {
              throw undefined;
            }),
          ),
        );
      case 'error-string-later':
        return concat(
          of({ data: 'one' }),
          timer(1).pipe(
            map(() => {
              throw 'a string';
            }),
          ),
        );
      case 'error-after-complete':
        return new Observable<SseEvent>((subscriber) => {
          subscriber.next({ data: 'one' });
          setTimeout(() => {
            subscriber.complete();
            subscriber.error(new Error('after complete'));
            subscriber.next({ data: 'after complete' });
          }, 1);
        });
      case 'subscribe-throws':
        return new Observable<SseEvent>(() => {
          throw new Error('subscribe boom');
        });
      case 'teardown-throws':
        return new Observable<SseEvent>((subscriber) => {
          subscriber.next({ data: 'one' });
          setTimeout(() => subscriber.complete(), 1);
          return () => {
            throw new Error('teardown boom');
          };
        });
      default:
        throw new Error(`unknown ${how}`);
    }
  }

  /** Async generators in hostile shapes. */
  @EventStream('gen')
  async *gen(@Query('kind') kind: string): AsyncGenerator<SseEvent> {
    try {
      switch (kind) {
        case 'never':
          yield { data: 'one' };
          await new Promise(() => undefined);
          break;
        case 'yields-undefined':
          yield { data: 'one' };
          yield undefined as unknown as SseEvent;
          break;
        case 'yields-empty':
          yield { data: 'one' };
          yield {} as SseEvent;
          break;
        case 'throws-undefined':
          yield { data: 'one' };
          throw undefined;
        case 'endless':
          for (let n = 0; ; n++) yield row(n);
        default:
          throw new Error(`unknown ${kind}`);
      }
    } finally {
      this.probe.count(`gen-finally`);
      if (kind === 'never') await new Promise(() => undefined);
    }
  }

  /** A generator whose `finally` throws, after it yielded in its finally first. */
  @EventStream('gen-finally-yields')
  async *genFinallyYields(): AsyncGenerator<SseEvent> {
    try {
      yield { data: 'one' };
      await new Promise(() => undefined);
    } finally {
      this.probe.count('gen-finally');
      yield { data: 'from finally' };
    }
  }

  /** Iterables that break the protocol. */
  @EventStream('iter')
  iter(@Query('kind') kind: string): unknown {
    switch (kind) {
      case 'iterator-throws':
        return {
          [Symbol.asyncIterator]() {
            throw new Error('iterator boom');
          },
        };
      case 'next-not-object':
        return {
          [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve(undefined) }),
        };
      case 'next-sync-throw':
        return {
          [Symbol.asyncIterator]: () => ({
            next: () => {
              throw new Error('next boom');
            },
          }),
        };
      case 'next-not-promise':
        return {
          [Symbol.asyncIterator]: () => {
            let n = 0;
            return { next: () => (n++ < 3 ? { value: { data: String(n) } } : { done: true }) };
          },
        };
      case 'return-throws':
        return {
          [Symbol.asyncIterator]: () => ({
            next: () => Promise.resolve({ value: { data: 'x' } }),
            return: () => {
              throw new Error('return boom');
            },
          }),
        };
      default:
        throw new Error(`unknown ${kind}`);
    }
  }

  /** ReadableStreams that fail. */
  @EventStream('readable')
  readable(@Query('kind') kind: string): ReadableStream<SseEvent> {
    if (kind === 'shared') return shared;
    return new ReadableStream<SseEvent>({
      start: (controller) => {
        controller.enqueue({ data: 'one' });
        if (kind === 'error-start') controller.error(new Error('readable boom'));
      },
      pull: async (controller) => {
        await sleep(1);
        if (kind === 'error-pull') controller.error(new Error('readable pull boom'));
        else if (kind === 'error-undefined') controller.error(undefined);
        else controller.enqueue({ data: 'more' });
      },
      cancel: () => this.probe.count('readable-cancel'),
    });
  }

  /** Compressible (no no-transform), fast producer: for compression + backpressure. */
  @Header('Cache-Control', 'no-cache')
  @EventStream('compressible-drop', { maxBufferedBytes: 64 * KiB, slowClientPolicy: 'drop-oldest' })
  compressibleDrop(@Query('n') n: string, @Query('per') per: string): Observable<SseEvent> {
    return interleaved(Number(n), Number(per), this.probe);
  }

  /** A plain route, for pipelining after and before streams. */
  @Get('plain')
  plain(): { ok: true } {
    return { ok: true };
  }

  /** A plain route that answers later. */
  @Get('slow-plain')
  async slowPlain(): Promise<{ ok: true }> {
    await this.probe.gate('slow-plain');
    return { ok: true };
  }

  /** Sends its head, then nothing, ever. */
  @EventStream('silent')
  silent(): Observable<SseEvent> {
    return new Observable<SseEvent>(() => () => this.probe.count('teardown'));
  }

  /** Three events, then the end. */
  @EventStream('three')
  three(): Observable<SseEvent> {
    return of({ id: 1, data: 'a' }, { id: 2, data: 'b' }, { id: 3, data: 'c' });
  }
}

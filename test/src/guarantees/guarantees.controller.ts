import { Controller, Header, Query } from '@nestjs/common';
import { on } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { concat, concatMap, from, NEVER, Observable, of, scan, throwError, timer, map } from 'rxjs';
import { EventStream, EventStreamSignal, type SseEvent } from '../../../src/index.js';
import { GuaranteesProbe } from './guarantees-probe.js';

const KiB = 1024;

/** Values a handler may emit by mistake, by name. */
export const MISTAKES: Record<string, unknown> = {
  undefined: undefined,
  null: null,
  number: 42,
  string: 'just a string',
  array: [{ data: 'x' }],
  function: () => ({ data: 'x' }),
  empty: {},
  'data-undefined': { data: undefined },
  'type-only': { type: 'ping' },
  'comment-number': { comment: 5 },
};

/** One row of a burst: some 100 bytes on the wire. */
export function row(n: number): SseEvent {
  return { id: n, data: `row ${n} ${'r'.repeat(80)}` };
}

@Controller('g')
export class GuaranteesController {
  constructor(private readonly probe: GuaranteesProbe) {}

  /** A good event, then (after the first tick, as a timer would) a value that is not one. */
  @EventStream('mistake')
  mistake(@Query('kind') kind: string): Observable<SseEvent> {
    const value = MISTAKES[kind];
    return concat(of({ data: 'first' }), timer(1).pipe(map(() => value as SseEvent)), NEVER);
  }

  /** The same value as the very first emission, synchronously: before the stream opened. */
  @EventStream('mistake-first')
  mistakeFirst(@Query('kind') kind: string): Observable<SseEvent> {
    return of(MISTAKES[kind] as SseEvent);
  }

  /** `scan` with a mutable accumulator: one object, emitted three times in one run. */
  @EventStream('scan')
  scan(): Observable<SseEvent> {
    return from([0, 1, 2]).pipe(
      scan(
        (event: SseEvent, n) => {
          event.data = `${n}:value-${n}`;
          return event;
        },
        { data: '' },
      ),
    );
  }

  /** One plain object, mutated between two emissions on a later tick. */
  @EventStream('mutated')
  mutated(): Observable<SseEvent> {
    const event: SseEvent = { data: 'before' };
    return concat(
      of(event),
      timer(1).pipe(
        map(() => {
          event.data = 'after';
          return event;
        }),
      ),
    );
  }

  /** A synchronous burst of `n` rows once an async set-up is done (a query's result). */
  @EventStream('burst', { maxBufferedBytes: 64 * KiB })
  async burst(@Query('n') n: string): Promise<Observable<SseEvent>> {
    await sleep(1);
    return from(Array.from({ length: Number(n) }, (_, i) => row(i)));
  }

  @EventStream('burst-drop', { maxBufferedBytes: 64 * KiB, slowClientPolicy: 'drop-oldest' })
  async burstDrop(@Query('n') n: string): Promise<Observable<SseEvent>> {
    await sleep(1);
    return from(Array.from({ length: Number(n) }, (_, i) => row(i)));
  }

  /** A burst within its own budget (the default, 1 MiB), for the application-wide one. */
  @EventStream('burst-large')
  async burstLarge(@Query('n') n: string): Promise<Observable<SseEvent>> {
    await sleep(1);
    return from(Array.from({ length: Number(n) }, (_, i) => row(i)));
  }

  /** Synchronous events, then an error. */
  @EventStream('sync-then-error')
  syncThenError(): Observable<SseEvent> {
    return concat(
      of({ data: 'a' }, { data: 'b' }),
      throwError(() => new Error('the upstream failed')),
    );
  }

  /** A pull source on a quiet upstream that stops when told to (the recipe). */
  @EventStream('quiet-signalled')
  async *quietSignalled(@EventStreamSignal() signal: AbortSignal): AsyncGenerator<SseEvent> {
    for await (const [message] of on(this.probe.upstream, 'msg', { signal })) {
      yield { data: String(message) };
    }
  }

  /** The same, without the signal: the source waits forever; the connection must not. */
  @EventStream('quiet')
  async *quiet(): AsyncGenerator<SseEvent> {
    for await (const [message] of on(this.probe.upstream, 'msg')) {
      yield { data: String(message) };
    }
  }

  /** A generator whose `finally` throws when the client leaves. */
  @EventStream('finally-throws')
  async *finallyThrows(): AsyncGenerator<SseEvent> {
    try {
      for (let n = 0; ; n++) {
        yield { data: String(n) };
        await sleep(2);
      }
    } finally {
      // eslint-disable-next-line no-unsafe-finally
      throw new Error('the cleanup failed');
    }
  }

  /**
   * One stream at a time; what the method returns is, in turn, a value whose getter throws when
   * read (a proxy: on attaching, `?kind=throwing`, or already on `then`, `?kind=throwing-then`), a value that is no stream (`?kind=number`), or a stream.
   */
  @EventStream('one-slot', { maxConnections: 1 })
  oneSlot(@Query('kind') kind?: string): unknown {
    if (kind === 'throwing' || kind === 'throwing-then') {
      return new Proxy(
        {},
        {
          get(_target, key): undefined {
            // `then` is read first (is it a promise?), the rest when the stream attaches.
            if (key === 'then' && kind === 'throwing') return undefined;
            throw new Error('a getter of the returned value threw');
          },
        },
      );
    }
    if (kind === 'number') return 42;
    return concat(of({ data: 'ok' }), NEVER);
  }

  /** An async set-up that waits for the test; one stream at a time on this route. */
  @EventStream('gated', { maxConnections: 1 })
  async gated(@EventStreamSignal() signal: AbortSignal): Promise<Observable<SseEvent>> {
    signal.addEventListener('abort', () => this.probe.aborted());
    await this.probe.setupGate();
    return concat(of({ data: 'ok' }), NEVER);
  }

  /**
   * Plays the probe's script: each step on a macrotask of its own, its values synchronously in
   * one run (a burst). A `{ mutate }` value sets the data of one object the route keeps, and
   * emits that same object again.
   */
  @EventStream('scripted')
  scripted(): Observable<SseEvent> {
    const shared: SseEvent = { data: '' };
    return from(this.probe.script).pipe(
      concatMap((step) =>
        timer(0).pipe(
          concatMap(
            () =>
              new Observable<SseEvent>((subscriber) => {
                for (const value of step) {
                  if (isMutation(value)) {
                    shared.data = value.mutate;
                    subscriber.next(shared);
                  } else {
                    subscriber.next(value as SseEvent);
                  }
                }
                subscriber.complete();
              }),
          ),
        ),
      ),
    );
  }

  /** The probe's feed, on a response a compression middleware may compress (no no-transform). */
  @Header('Cache-Control', 'no-cache')
  @EventStream('compressible')
  compressible(): Observable<SseEvent> {
    return this.probe.feed.asObservable();
  }
}

/** A script value that mutates the route's one shared event, then emits it. */
export interface Mutation {
  mutate: string;
}

export function isMutation(value: unknown): value is Mutation {
  return typeof value === 'object' && value !== null && 'mutate' in value;
}

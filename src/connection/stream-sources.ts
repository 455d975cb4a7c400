import { isObservable, type Observable } from 'rxjs';
import type { SseEvent } from '../wire/sse-event.interface.js';
import type { EventSink } from './event-stream-connection.js';
import { flowControl } from './flow-control.js';

/** What a connection needs of a pull source's consumer. */
export interface PullTarget extends EventSink {
  readonly isOpen: boolean;
  /** The source let go of the stream without completing it: the stream ends. */
  sourceReleased?(): void;
  readonly writable: boolean;
  drained(): Promise<void>;
}

/** What releases a source: an rxjs `Subscription` fits. */
export interface SourceHold {
  unsubscribe(): void;
}

/** Attaches a source to a connection; returns what releases it. */
export type SourceAttacher = (sink: PullTarget) => SourceHold;

/**
 * A source that drives a connection itself (pushes live events, waits for `drained()` between
 * pages of history): `SseHub` streams implement it, beside being Observables.
 */
export const ATTACH_SOURCE = Symbol.for('nestjs-event-stream.attach-source');

/** An object that attaches itself to a connection. */
export interface SelfAttachingSource {
  [ATTACH_SOURCE]: SourceAttacher;
}

/**
 * How to attach what an `@EventStream()` handler returned, or `undefined` when it is not a
 * stream: an `Observable` is pushed; an `AsyncIterable` (an async generator) or a web
 * `ReadableStream` is pulled only when the socket can take more.
 */
export function sourceAttacher(source: unknown): SourceAttacher | undefined {
  if (typeof (source as SelfAttachingSource | undefined)?.[ATTACH_SOURCE] === 'function') {
    return (source as SelfAttachingSource)[ATTACH_SOURCE];
  }
  if (isObservable(source)) {
    return (sink) => {
      // The connection is the observer itself: rxjs wraps it in its own Subscriber, whose
      // guarantees (stop at once on complete, error or unsubscribe) a producer relies on.
      // Within the flow-control context: a hub stream anywhere in the pipe finds the stream.
      const subscription = flowControl.run(sink, () =>
        (source as Observable<SseEvent>).subscribe(sink),
      );
      // Told when the subscriber is let go without a completion (it unsubscribed itself).
      subscription.add(() => sink.sourceReleased?.());
      return subscription;
    };
  }
  if (isReadableStream(source)) {
    return (sink) => {
      const reader = source.getReader();
      pull(sink, () => reader.read());
      return {
        unsubscribe: () => {
          reader.cancel().catch(() => undefined);
        },
      };
    };
  }
  if (isAsyncIterable(source)) {
    return (sink) => {
      const iterator = source[Symbol.asyncIterator]();
      pull(sink, () => iterator.next());
      return {
        // An async generator's return() waits for a pending next() to settle, then runs its
        // finally blocks.
        unsubscribe: () => {
          iterator.return?.()?.catch(() => undefined);
        },
      };
    };
  }
  return undefined;
}

function pull(sink: PullTarget, next: () => Promise<{ done?: boolean; value?: unknown }>): void {
  // Started once the connection opened: nothing is pulled before the headers are sent.
  queueMicrotask(async () => {
    try {
      while (sink.isOpen) {
        if (!sink.writable) {
          await sink.drained();
          // A socket drains within the same turn when the kernel takes everything at once: a
          // source that is always ready would otherwise keep the event loop from ever seeing
          // I/O, the client's disconnect included. Each socket-full gives other work a turn.
          await new Promise(setImmediate);
          continue;
        }
        const result = await next();
        if (!sink.isOpen) return;
        if (result.done) {
          sink.complete();
          return;
        }
        sink.next(result.value as SseEvent);
      }
    } catch (error) {
      sink.error(error);
    }
  });
}

function isReadableStream(value: unknown): value is ReadableStream<SseEvent> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ReadableStream).getReader === 'function' &&
    typeof (value as ReadableStream).cancel === 'function'
  );
}

function isAsyncIterable(value: unknown): value is AsyncIterable<SseEvent> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  );
}

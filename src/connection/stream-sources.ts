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
  /** A pull source's release settles later: a rejection (a `finally` that threw) is reported. */
  unsubscribe(): void | PromiseLike<unknown>;
}

/** Attaches a source to a connection; returns what releases it. */
export type SourceAttacher = (sink: PullTarget) => SourceHold;

/**
 * How to attach what an `@EventStream()` handler returned, or `undefined` when it is not a
 * stream: an `Observable` is pushed; an `AsyncIterable` (an async generator) or a web
 * `ReadableStream` is pulled only when the socket can take more.
 */
export function sourceAttacher(source: unknown): SourceAttacher | undefined {
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
      const link: PullLink = { target: sink, finished: false };
      pull(link, () => reader.read());
      return {
        unsubscribe: () => {
          link.target = undefined;
          // A stream that ended or errored has nothing to cancel: cancel() on an errored one
          // rejects with the error the stream already ended with (and that was reported).
          if (!link.finished) return reader.cancel();
          reader.releaseLock();
          return undefined;
        },
      };
    };
  }
  if (isAsyncIterable(source)) {
    return (sink) => {
      const iterator = source[Symbol.asyncIterator]();
      const link: PullLink = { target: sink, finished: false };
      pull(link, () => iterator.next());
      return {
        // An async generator's return() waits for a pending next() to settle, then runs its
        // finally blocks (what they throw rejects it, and is reported). An iterator that is
        // done or threw has already run them: the protocol calls return() on neither.
        unsubscribe: () => {
          link.target = undefined;
          return link.finished ? undefined : iterator.return?.();
        },
      };
    };
  }
  return undefined;
}

/**
 * The one reference a pull loop has to its stream, cut when the stream closes: a `next()` that
 * never settles (a quiet upstream) then holds this link alone, not the closed connection. The
 * source itself is told through the `AbortSignal` of `@EventStreamSignal()`.
 */
interface PullLink {
  target: PullTarget | undefined;
  /** The source said it is done, or its `next()` rejected: there is nothing left to release. */
  finished: boolean;
}

function pull(link: PullLink, next: () => Promise<{ done?: boolean; value?: unknown }>): void {
  // Started once the connection opened: nothing is pulled before the headers are sent. The loop
  // reads `link.target` afresh after every wait, and keeps no reference of its own across one.
  queueMicrotask(async () => {
    try {
      while (link.target?.isOpen === true) {
        if (!link.target.writable) {
          await link.target.drained();
          // A socket drains within the same turn when the kernel takes everything at once: a
          // source that is always ready would otherwise keep the event loop from ever seeing
          // I/O, the client's disconnect included. Each socket-full gives other work a turn.
          await new Promise(setImmediate);
          continue;
        }
        let result: { done?: boolean; value?: unknown };
        try {
          result = await next();
        } catch (error) {
          // Set before the target hears of it: its error() may release the source at once.
          link.finished = true;
          throw error;
        }
        if (result.done) link.finished = true;
        const target = link.target;
        if (target?.isOpen !== true) return;
        if (link.finished) {
          target.complete();
          return;
        }
        target.next(result.value as SseEvent);
      }
    } catch (error) {
      link.target?.error(error);
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

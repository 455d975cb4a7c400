import { HttpException, type Logger } from '@nestjs/common';
import type { StreamPort } from '../platform/stream-port.interface.js';
import type { RouteCounters } from '../metrics/route-counters.js';
import type { StreamSettings } from '../sse.options.js';
import { serializeEvent, serializeRetry } from '../wire/frame.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import type { HeartbeatGroup, HeartbeatMember, HeartbeatScheduler } from './heartbeat.js';
import type { CloseReason, StreamInfo, StreamRequestInfo } from './stream-info.interface.js';
import type { PullTarget, SourceAttacher, SourceHold } from './stream-sources.js';
import { WireFrame } from '../wire/wire-frame.js';

const enum State {
  /**
   * Subscribed, headers not sent: frames wait in the queue (within the same budgets as the
   * drain queue), and an error before any event still becomes an HTTP error.
   */
  Starting,
  Open,
  /**
   * Ended by the server while its client was not reading: the source is let go, and the queue
   * goes on flushing as the socket drains, still within the budgets, until it is written (then
   * the response ends) or `closeGraceMs` passes (then it is cut).
   */
  Closing,
  Closed,
}

const HEARTBEAT = new WireFrame(':\n');

/** The registry, as a connection sees it. */
export interface ConnectionOwner {
  readonly heartbeat: HeartbeatScheduler;
  readonly logger: Logger;
  /** The frame of an event, serialized once however many connections send it. */
  frameOf(event: SseEvent): WireFrame;
  /** Told of every change of a connection's queued bytes, for the global budget. */
  queuedBytesChanged(connection: EventStreamConnection, delta: number): void;
  /**
   * The one close listener of every stream's port (`this` is the port's `closeKey`): a closure
   * per stream would cost some 0.1 KB each.
   */
  onResponseClose(this: object): void;
  /** Who a request comes from (the `clientKey` option). */
  clientKeyOf(request: StreamRequestInfo): string | undefined;
  /** One event's frame of `bytes` went to the socket, for the stats (and its route's tally). */
  eventWritten(bytes: number, route: RouteCounters | undefined): void;
  dropped(events: number, route: RouteCounters | undefined): void;
  closed(connection: EventStreamConnection, reason: CloseReason): void;
}

/** How a connection receives what its source produces: an rxjs observer. */
export interface EventSink {
  next(event: SseEvent): void;
  error(error: unknown): void;
  complete(): void;
}

/**
 * One open stream: it writes its source's events to the socket within a byte budget, keeps the
 * connection alive with heartbeats, and releases everything the moment it closes — the client
 * went away, the source ended, or the server ended it.
 */
export class EventStreamConnection implements HeartbeatMember, PullTarget, StreamInfo {
  lastActiveTick = 0;
  readonly openedAt = Date.now();
  /** Bytes waiting in this connection's own queue (the transport's are `port.bufferedBytes`). */
  queuedBytes = 0;
  /** Set by the registry once it reported the stream open (so that it reports its close). */
  announced = false;

  private state = State.Starting;
  private startError: unknown;
  private completedEarly = false;
  /** The source failed while attaching, after events: they are sent, then its error. */
  private failedEarly?: { error: unknown };
  private hold?: SourceHold;
  private heartbeatGroup?: HeartbeatGroup;
  private lifetimeTimer?: NodeJS.Timeout;
  /**
   * Event frames waiting for the headers to go out or for the socket to drain; `queueHead` is
   * the next one to write. Only events: a stream's last frames (its error, its retry hint) are
   * written by {@link end}, after the queue.
   */
  private queue?: WireFrame[];
  private queueHead = 0;
  private droppedSinceReset = 0;
  private drainWaiters?: Array<() => void>;
  private waitingForDrain = false;
  private knownClientKey?: { value: string | undefined };
  /** Set in {@link State.Closing}: how the stream ends once flushed, and when it is cut. */
  private closing?: { reason: CloseReason; last?: WireFrame; deadline: NodeJS.Timeout };

  constructor(
    readonly id: number,
    /** How frames reach the client: everything this stream knows of its transport. */
    readonly port: StreamPort,
    readonly handler: string,
    /** The client key the per-client limit counted this stream under, if it did. */
    readonly limitKey: string | undefined,
    readonly settings: StreamSettings,
    private readonly owner: ConnectionOwner,
    /** The request as the route's `@Req()` sees it (Fastify's, or Express's: the port's). */
    readonly request: StreamRequestInfo,
    /** Its route's tally, while the metrics record. */
    private readonly route?: RouteCounters,
  ) {}

  get clientKey(): string | undefined {
    if (this.knownClientKey === undefined) {
      this.knownClientKey = { value: this.limitKey ?? this.computedClientKey() };
    }
    return this.knownClientKey.value;
  }

  /**
   * The key computed on demand (no per-client limit asked for it up front): a `clientKey` that
   * throws, or returns no string, is reported once and leaves this stream without a key, so
   * that a `close()` filter reading every stream's key still reaches the others.
   */
  private computedClientKey(): string | undefined {
    try {
      return this.owner.clientKeyOf(this.request);
    } catch (error) {
      this.owner.logger.error(
        `${this.handler}: clientKey failed for stream ${this.id}; the stream has no client key`,
        error instanceof Error ? error.stack : String(error),
      );
      return undefined;
    }
  }

  get protocol(): string {
    const raw = this.port.request;
    return raw.httpVersionMajor === 2 ? '2' : raw.httpVersion;
  }

  get path(): string {
    return this.port.request.url ?? '';
  }

  get isOpen(): boolean {
    return this.state === State.Open;
  }

  /** True while the socket takes more without queueing: when a pull source may be pulled. */
  get writable(): boolean {
    return this.state === State.Open && !this.waitingForDrain;
  }

  /**
   * Attaches the source (`attach` returns how to release it) and, unless it failed while
   * attaching before any event (then the error is thrown, for Nest's exception filters to
   * answer), sends the headers and what the source already emitted. The port takes the
   * response over from the framework right before the head, and only then.
   */
  start(attach: SourceAttacher, jitter: () => number): void {
    this.port.onClose(this.owner.onResponseClose);
    const hold = attach(this);
    if (this.state === State.Closed) {
      // Cut while attaching (a synchronous burst over budget): the source is let go now.
      this.release(hold);
      return;
    }
    this.hold = hold;
    if (this.startError !== undefined) {
      const error = this.startError;
      this.dispose('error');
      throw error;
    }
    const { heartbeatMs, retryMs, maxLifetimeMs } = this.settings;
    const due =
      this.queue !== undefined ||
      this.droppedSinceReset > 0 ||
      this.completedEarly ||
      this.failedEarly !== undefined;
    this.port.head(retryMs !== undefined || due);
    this.state = State.Open;
    let writable = true;
    if (retryMs !== undefined) {
      writable = this.send(new WireFrame(`${serializeRetry(retryMs)}\n`));
    }
    if (due && writable) writable = this.flushQueue();
    if (!writable) this.awaitDrain();
    if (this.failedEarly !== undefined) {
      this.error(this.failedEarly.error);
      return;
    }
    if (this.completedEarly) {
      this.end('complete');
      return;
    }
    if (heartbeatMs > 0) {
      this.heartbeatGroup = this.owner.heartbeat.join(this, heartbeatMs);
    }
    if (maxLifetimeMs > 0) {
      // Whole seconds, so that Node keeps few timer lists however many streams are open.
      const lifetime = Math.max(
        1000,
        Math.round((maxLifetimeMs * (0.9 + Math.random() * 0.2)) / 1000) * 1000,
      );
      this.lifetimeTimer = setTimeout(() => this.endWithRetry('lifetime', jitter()), lifetime);
      this.lifetimeTimer.unref();
    }
  }

  next(event: SseEvent): void {
    if (this.state >= State.Closing) return;
    let frame: WireFrame;
    try {
      frame = this.owner.frameOf(event);
    } catch (error) {
      this.error(error);
      return;
    }
    if (this.state === State.Starting) {
      this.enqueue(frame);
    } else {
      this.writeEvent(frame);
    }
  }

  error(error: unknown): void {
    if (this.state === State.Starting) {
      if (this.queue !== undefined || this.droppedSinceReset > 0) {
        // Events came first: they are delivered, then the error ends the open stream.
        this.failedEarly ??= { error };
      } else {
        this.startError = error ?? new Error('The event source failed with no error value');
      }
      return;
    }
    if (this.state >= State.Closing) return;
    this.owner.logger.error(
      `${this.handler}: the event source failed after the stream opened; sending "${this.settings.errorEvent}" and ending it`,
      error instanceof Error ? error.stack : String(error),
    );
    this.end(
      'error',
      new WireFrame(
        serializeEvent({ type: this.settings.errorEvent, data: clientSafeError(error) }),
      ),
    );
  }

  complete(): void {
    if (this.state === State.Starting) {
      this.completedEarly = true;
    } else {
      this.end('complete');
    }
  }

  sendHeartbeat(): void {
    // A full socket means bytes are already on their way; a heartbeat would only add to them.
    if (this.waitingForDrain || this.state !== State.Open) return;
    if (this.heartbeatGroup !== undefined) this.lastActiveTick = this.heartbeatGroup.tick;
    if (!this.send(HEARTBEAT)) this.awaitDrain();
  }

  /** Resolves once the socket drained (or the stream closed): how a pull source waits. */
  drained(): Promise<void> {
    if (this.writable || this.state >= State.Closing) return Promise.resolve();
    return new Promise((resolve) => (this.drainWaiters ??= []).push(resolve));
  }

  /**
   * Ends the stream from the server side, with a `retry:` hint and, before it, an optional last
   * event (already serialized, once for every stream it goes to).
   */
  endWithRetry(reason: CloseReason, retryMs: number, lastEvent = ''): void {
    if (this.state !== State.Open) {
      if (this.state === State.Starting) this.dispose(reason);
      return;
    }
    this.end(reason, new WireFrame(`${lastEvent}${serializeRetry(retryMs)}\n`));
  }

  /** Ends the response; what is queued is written first, then `last` (if given). */
  end(reason: CloseReason, last?: WireFrame): void {
    if (this.state >= State.Closing) return;
    if (this.state === State.Open && !this.port.gone) {
      // Written now, a full socket's queue would leave every budget (and the slot) behind.
      if (this.waitingForDrain) {
        this.closeWhenFlushed(reason, last);
        return;
      }
      if (this.droppedSinceReset > 0) this.sendReset();
      const queue = this.queue;
      if (queue !== undefined) {
        for (let i = this.queueHead; i < queue.length; i++) {
          const frame = queue[i]!;
          this.owner.eventWritten(frame.size, this.route);
          this.send(frame);
        }
      }
      if (last !== undefined) this.send(last);
    }
    this.port.end();
    this.dispose(reason);
  }

  /** Cuts the connection at once, without flushing (a client that does not read). */
  destroy(reason: CloseReason): void {
    if (this.state === State.Closed) return;
    this.dispose(reason);
    this.port.abort();
  }

  private writeEvent(frame: WireFrame): void {
    if (this.heartbeatGroup !== undefined) {
      this.lastActiveTick = this.heartbeatGroup.tick;
    }
    // The hot path: nothing queued, the socket not full. `send()` says when the socket is full,
    // and only then is the budget checked.
    if (!this.waitingForDrain) {
      // A transport cut before its 'close' event came: the client is gone, and the stream closes
      // now (a pull source that is always ready would otherwise be pulled to its end unseen).
      if (this.port.gone) {
        this.clientClosed();
        return;
      }
      this.owner.eventWritten(frame.size, this.route);
      if (!this.send(frame)) {
        this.awaitDrain();
        if (this.port.bufferedBytes > this.settings.maxBufferedBytes) this.overBudget();
      }
      return;
    }
    this.enqueue(frame);
  }

  /** Queues an event frame, within the stream's budget and the application's. */
  private enqueue(frame: WireFrame): void {
    (this.queue ??= []).push(frame);
    this.queuedBytes += frame.chunk.length;
    this.owner.queuedBytesChanged(this, frame.chunk.length);
    if (this.queuedBytes + this.port.bufferedBytes > this.settings.maxBufferedBytes) {
      this.overBudget();
    }
  }

  /** Writes one frame; false once the transport is full. */
  private send(frame: WireFrame): boolean {
    return this.port.write(frame);
  }

  private overBudget(): void {
    if (this.settings.slowClientPolicy === 'close') {
      this.destroy('slow-client');
      return;
    }
    // Drop oldest first: what is left is the newest, and the client is told of the gap.
    const queue = this.queue;
    if (queue === undefined) return;
    const budget = this.settings.maxBufferedBytes - this.port.bufferedBytes;
    let dropped = 0;
    let freed = 0;
    while (this.queueHead < queue.length && this.queuedBytes - freed > budget) {
      freed += queue[this.queueHead]!.chunk.length;
      queue[this.queueHead++] = undefined as unknown as WireFrame;
      dropped++;
    }
    if (dropped === 0) return;
    this.queuedBytes -= freed;
    this.owner.queuedBytesChanged(this, -freed);
    this.droppedSinceReset += dropped;
    this.owner.dropped(dropped, this.route);
    this.compactQueue();
  }

  /** Tells the client how many events were dropped since it was last told: never a silent gap. */
  private sendReset(): boolean {
    const reset = new WireFrame(
      serializeEvent({
        type: this.settings.resetEvent,
        data: { reason: 'slow-client', dropped: this.droppedSinceReset },
      }),
    );
    this.droppedSinceReset = 0;
    return this.send(reset);
  }

  /** Made on the first backpressure only: an idle connection never needs it. */
  private drainListener?: () => void;

  private onDrain(): void {
    this.waitingForDrain = false;
    if (this.state === State.Closing) return this.flushClosing();
    if (this.state !== State.Open) return;
    if (this.flushQueue()) {
      this.releaseDrainWaiters();
    } else {
      this.awaitDrain();
    }
  }

  /** Writes the reset owed, then queued events until the socket is full; false if it filled. */
  private flushQueue(): boolean {
    if (this.port.gone) return false;
    if (this.droppedSinceReset > 0 && !this.sendReset()) return false;
    const queue = this.queue;
    if (queue === undefined) return true;
    let full = false;
    let freed = 0;
    while (!full && this.queueHead < queue.length) {
      const frame = queue[this.queueHead]!;
      queue[this.queueHead++] = undefined as unknown as WireFrame;
      freed += frame.chunk.length;
      this.owner.eventWritten(frame.size, this.route);
      full = !this.send(frame);
    }
    if (freed > 0) {
      this.queuedBytes -= freed;
      this.owner.queuedBytesChanged(this, -freed);
      this.compactQueue();
    }
    return !full;
  }

  private awaitDrain(): void {
    if (!this.waitingForDrain) {
      this.waitingForDrain = true;
      this.port.onceDrain((this.drainListener ??= () => this.onDrain()));
    }
  }

  private compactQueue(): void {
    const queue = this.queue;
    if (queue === undefined) return;
    if (this.queueHead === queue.length) {
      this.queue = undefined;
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > queue.length) {
      this.queue = queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private releaseDrainWaiters(): void {
    const waiters = this.drainWaiters;
    if (waiters === undefined) return;
    this.drainWaiters = undefined;
    for (const resolve of waiters) resolve();
  }

  /** The client went away (the response closed first). */
  clientClosed(): void {
    // A closing stream ended for the server's reason; its client left before the last bytes.
    this.dispose(this.closing?.reason ?? 'client');
  }

  /**
   * The source let go of the stream without completing it (an rxjs subscriber unsubscribed
   * itself): the stream ends as if it completed. A no-op once the stream is closed.
   */
  sourceReleased(): void {
    if (this.state === State.Starting) this.completedEarly = true;
    else if (this.state === State.Open) this.end('complete');
  }

  private dispose(reason: CloseReason): void {
    if (this.state === State.Closed) return;
    this.state = State.Closed;
    this.port.offClose(this.owner.onResponseClose);
    if (this.waitingForDrain) this.port.offDrain(this.drainListener!);
    if (this.heartbeatGroup !== undefined)
      this.owner.heartbeat.leave(this, this.settings.heartbeatMs);
    if (this.lifetimeTimer !== undefined) clearTimeout(this.lifetimeTimer);
    if (this.closing !== undefined) clearTimeout(this.closing.deadline);
    const queued = this.queuedBytes;
    this.queue = undefined;
    this.queuedBytes = 0;
    // Told with the queue already empty, so the registry drops it from its backlogged set.
    if (queued > 0) this.owner.queuedBytesChanged(this, -queued);
    this.releaseDrainWaiters();
    // Releases the source at once (a no-op from inside its own complete or error).
    const hold = this.hold;
    this.hold = undefined;
    if (hold !== undefined) this.release(hold);
    this.owner.closed(this, reason);
  }

  /**
   * Enters {@link State.Closing}: what produces events is let go now, what is queued stays
   * counted (the registry's global budget, the connection's slot) until it is written or cut.
   */
  private closeWhenFlushed(reason: CloseReason, last: WireFrame | undefined): void {
    this.state = State.Closing;
    const deadline = setTimeout(() => this.destroy('slow-client'), this.settings.closeGraceMs);
    deadline.unref();
    this.closing = { reason, last, deadline };
    if (this.heartbeatGroup !== undefined) {
      this.owner.heartbeat.leave(this, this.settings.heartbeatMs);
      this.heartbeatGroup = undefined;
    }
    if (this.lifetimeTimer !== undefined) clearTimeout(this.lifetimeTimer);
    this.releaseDrainWaiters();
    const hold = this.hold;
    this.hold = undefined;
    if (hold !== undefined) this.release(hold);
  }

  /** The socket of a closing stream drained: more of its queue, and its end once written. */
  private flushClosing(): void {
    if (!this.flushQueue()) {
      if (!this.port.gone) this.awaitDrain();
      return;
    }
    const { reason, last } = this.closing!;
    if (last !== undefined) this.send(last);
    this.port.end();
    this.dispose(reason);
  }

  /**
   * Lets go of a source. A teardown that throws (an Observable's) or rejects (an async
   * generator's `finally`) is reported, and the stream is still counted closed.
   */
  private release(hold: SourceHold): void {
    const { logger } = this.owner;
    const handler = this.handler;
    try {
      const released = hold.unsubscribe();
      // Only pull sources return a promise, which may never settle (a generator stuck on a
      // quiet upstream): what it holds must not be this connection.
      if (released !== undefined) {
        released.then(undefined, (error: unknown) => releaseFailed(logger, handler, error));
      }
    } catch (error) {
      releaseFailed(logger, handler, error);
    }
  }
}

function releaseFailed(logger: Logger, handler: string, error: unknown): void {
  logger.error(
    `${handler}: releasing the event source failed`,
    error instanceof Error ? error.stack : String(error),
  );
}

/**
 * What a client may learn of a failure: an HttpException's status and message (meant for
 * clients), and nothing of any other error.
 */
function clientSafeError(error: unknown): { statusCode: number; message: string } {
  if (error instanceof HttpException) {
    const body = error.getResponse();
    const message =
      typeof body === 'object' && body !== null && 'message' in body
        ? String((body as { message: unknown }).message)
        : error.message;
    return { statusCode: error.getStatus(), message };
  }
  return { statusCode: 500, message: 'Internal server error' };
}

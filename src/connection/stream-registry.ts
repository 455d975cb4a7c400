import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Subject } from 'rxjs';
import { isNoContent } from '../decorators/no-content.js';
import { InvalidClientKeyError } from '../errors/invalid-client-key.error.js';
import { InvalidStreamSourceError } from '../errors/invalid-stream-source.error.js';
import { RouteCounters } from '../metrics/route-counters.js';
import { routeTemplateOf } from '../metrics/route-template.js';
import { SSE_MODULE_OPTIONS } from '../sse.module-definition.js';
import {
  type EventStreamOptions,
  resolveOptions,
  type ResolvedSseOptions,
  routeSettings,
  type SseModuleOptions,
  type StreamSettings,
} from '../sse.options.js';
import { serializeEvent, serializeRetry } from '../wire/frame.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import { preparedFrame } from '../wire/prepared-event.js';
import { type ConnectionOwner, EventStreamConnection } from './event-stream-connection.js';
import { HeartbeatScheduler } from './heartbeat.js';
import { type SourceAttacher, sourceAttacher } from './stream-sources.js';
import { WireFrame } from '../wire/wire-frame.js';
import type {
  CloseReason,
  StreamInfo,
  StreamLifecycleEvent,
  StreamRequestInfo,
  StreamStats,
} from './stream-info.interface.js';
import { NodeH2Sessions } from '../platform/node-h2-sessions.js';
import { streamPortFor } from '../platform/stream-port-for.js';
import type {
  PortCloseListener,
  StreamPort,
  StreamRequestMessage,
  StreamResponseMessage,
} from '../platform/stream-port.interface.js';

/** What an `@EventStream()` handler was called for. */
export interface StreamRequest {
  /** `Class.method`, for messages and stats. */
  handler: string;
  route: EventStreamOptions;
  /** The raw request and response: only the stream's port (`src/platform/`) writes on them. */
  req: StreamRequestMessage;
  /**
   * The request as the route's `@Req()` sees it (Fastify's `FastifyRequest`), where it is not
   * `req` itself (Express's): what `clientKey` and {@link StreamInfo.request} are given.
   */
  request?: StreamRequestInfo;
  res: StreamResponseMessage;
  /** Runs the user's method; not called for HEAD, nor for a refused stream. */
  invoke: () => unknown;
  /**
   * Called once, right before the library answers on `res` itself (a stream's head, HEAD, 204,
   * a refusal) and never when an error goes to Nest's exception filters instead. The platform
   * glue takes the response over here: on Fastify, it copies the reply's headers onto the raw
   * response and hijacks the reply.
   */
  takeOver?: () => void;
}

/** Options of {@link StreamRegistry.close}. */
export interface CloseStreamsOptions {
  /** Sent to each stream before its `retry:` hint and its end. */
  event?: SseEvent;
  /** The `retry:` hint; jittered from the module options when not given. */
  retryMs?: number;
}

/**
 * Every open stream of the application: it opens them for `@EventStream()` handlers within the
 * connection limits, counts them for operators, closes them on demand, and ends them all before
 * the HTTP server closes.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class SessionService {
 *   constructor(private readonly streams: StreamRegistry) {}
 *   logout(userId: string) {
 *     this.streams.close((s) => s.clientKey === userId, { event: { type: 'logout' } });
 *   }
 * }
 * ```
 */
@Injectable()
export class StreamRegistry
  implements
    ConnectionOwner,
    OnApplicationBootstrap,
    BeforeApplicationShutdown,
    OnApplicationShutdown
{
  readonly options: ResolvedSseOptions;
  readonly heartbeat = new HeartbeatScheduler();
  readonly logger = new Logger('EventStream');
  private readonly lifecycle = new Subject<StreamLifecycleEvent>();
  /** Opens and closes of streams, for presence. */
  readonly lifecycle$ = this.lifecycle.asObservable();

  /**
   * The HTTP/2 sessions of the application (Fastify `http2: true`): the ports of their streams,
   * and the GOAWAY that ends them at shutdown.
   */
  readonly http2Sessions = new NodeH2Sessions((message) => this.logger.warn(message));

  /** Keyed by the port's `closeKey`, for the one close listener of them all. */
  private readonly connections = new Map<object, EventStreamConnection>();
  /** Streams being set up or open, per handler and per client: what the limits count. */
  private readonly perHandler = new Map<string, number>();
  private readonly perClient = new Map<string, number>();
  private reserved = 0;
  private nextId = 1;
  private shuttingDown = false;
  private totalQueuedBytes = 0;
  private readonly backlogged = new Set<EventStreamConnection>();
  /** Requests whose async set-up is pending: answered with the refusal at shutdown. */
  private readonly settingUp = new Set<StreamPort>();
  private readonly counters = {
    eventsWritten: 0,
    bytesWritten: 0,
    slowClientsClosed: 0,
    eventsDropped: 0,
    refused: 0,
  };
  private readonly settingsCache = new WeakMap<EventStreamOptions, StreamSettings>();
  /** Events and bytes written and dropped per route (`http.route`), for the metrics. */
  readonly routeCounters = new Map<string, RouteCounters>();
  /**
   * Set by the metrics while they record: only then is a stream given its route's tally (a
   * lookup per stream and two additions per event that nobody reads otherwise).
   */
  countPerRoute = false;
  /** Streams refused, by the limit (or shutdown) that refused them, for the metrics. */
  readonly refusedByReason = new Map<string, number>();

  /** The shutdown event's frame, serialized at start-up: an invalid one fails `forRoot()`. */
  private readonly shutdownFrame: string;

  readonly onResponseClose: PortCloseListener;

  constructor(
    @Inject(SSE_MODULE_OPTIONS) options: SseModuleOptions,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {
    const connections = this.connections;
    this.onResponseClose = function (this: object) {
      connections.get(this)?.clientClosed();
    };
    this.options = resolveOptions(options);
    const { shutdownEvent } = this.options;
    this.shutdownFrame = shutdownEvent === undefined ? '' : serializeEvent(shutdownEvent);
  }

  /** Counters for operators. */
  stats(): StreamStats {
    const openByHandler: Record<string, number> = {};
    for (const connection of this.connections.values()) {
      // A closing stream (ended, still flushing) holds its slot, but is no longer open.
      if (!connection.announced || !connection.isOpen) continue;
      openByHandler[connection.handler] = (openByHandler[connection.handler] ?? 0) + 1;
    }
    const open = Object.values(openByHandler).reduce((sum, n) => sum + n, 0);
    return { open, openByHandler, ...this.counters };
  }

  /** Bytes queued for slow clients across all streams: what `maxTotalBufferedBytes` bounds. */
  get bufferedBytes(): number {
    return this.totalQueuedBytes;
  }

  /** The streams open now. */
  list(): StreamInfo[] {
    return [...this.connections.values()].filter(
      (connection) => connection.announced && connection.isOpen,
    );
  }

  /**
   * Ends every open stream that matches (a user logged out, a token expired), each with a
   * jittered `retry:` hint and an optional last event. Returns how many it ended.
   */
  close(filter: (stream: StreamInfo) => boolean, options: CloseStreamsOptions = {}): number {
    // Serialized once, and before any stream is touched: an invalid event ends none.
    const lastEvent = options.event === undefined ? '' : serializeEvent(options.event);
    let count = 0;
    for (const connection of this.connections.values()) {
      if (!connection.announced || !connection.isOpen || !filter(connection)) continue;
      connection.endWithRetry('server', options.retryMs ?? this.jitteredRetry(), lastEvent);
      count++;
    }
    return count;
  }

  /**
   * Serves one request of an `@EventStream()` route. Throws (or rejects) only before the first
   * byte, so Nest's exception filters still answer.
   */
  serve(request: StreamRequest): void | Promise<void> {
    const port = streamPortFor(request.req, request.res, this.http2Sessions, {
      takeOver: request.takeOver,
    });
    if (port.answered) {
      this.alreadyAnswered(request.handler);
      return;
    }
    if (port.request.method === 'HEAD') {
      port.respondHead();
      return;
    }
    const settings = this.settingsOf(request.route);
    // Only computed up front when a per-client limit needs it (Express's req.ip is not free);
    // otherwise a stream computes it on demand, for close() filters and presence.
    const clientKey = Number.isFinite(this.options.maxConnectionsPerClient)
      ? this.clientKeyOf(request.request ?? port.request)
      : undefined;
    const refusal = this.refusal(request.handler, clientKey, settings);
    if (refusal !== undefined) {
      this.refuse(port, refusal);
      return;
    }
    this.reserve(request.handler, clientKey);
    let result: unknown;
    let thenable: boolean;
    try {
      result = request.invoke();
      // A getter of the value (a proxy's) may throw here too.
      thenable = isThenable(result);
    } catch (error) {
      this.unreserve(request.handler, clientKey);
      throw error;
    }
    if (!thenable) {
      // The common case: no closure for the reservation, which attach() gives back or hands on.
      this.attach(request, port, settings, clientKey, result);
      return;
    }
    // Called once: with `true` to give the reservation back, `false` when a connection took it.
    let reservationHeld = true;
    const releaseReservation = (unreserve = true) => {
      if (reservationHeld) {
        reservationHeld = false;
        this.settingUp.delete(port);
        if (unreserve) this.unreserve(request.handler, clientKey);
      }
    };
    // A client that leaves during the set-up gives its slot back as it goes, not when the
    // set-up settles (which may be never).
    port.onClose(releaseReservation);
    this.settingUp.add(port);
    return Promise.resolve(result).then(
      (source) => {
        port.offClose(releaseReservation);
        this.attach(request, port, settings, clientKey, source, releaseReservation);
      },
      (error: unknown) => {
        port.offClose(releaseReservation);
        releaseReservation();
        throw error;
      },
    );
  }

  onApplicationBootstrap(): void {
    // Every HTTP/2 session, also those that only carry plain requests, gets its GOAWAY at
    // shutdown: Node's server.close() waits for each (an idle one until its timeout, 72 s).
    this.http2Sessions.watch(this.adapterHost?.httpAdapter?.getHttpServer?.());
  }

  async beforeApplicationShutdown(): Promise<void> {
    // Nest closes the HTTP server next, and waits for every open response: end them first.
    this.shuttingDown = true;
    const graceEnds = performance.now() + this.options.shutdownGraceMs;
    const lastEvent = this.shutdownFrame;
    const flushing = new Set<StreamPort>();
    const allFlushed: Array<Promise<void>> = [];
    for (const connection of this.connections.values()) {
      const port = connection.port;
      if (!port.gone) {
        flushing.add(port);
        allFlushed.push(closeOf(port, flushing));
      }
      connection.endWithRetry('shutdown', this.jitteredRetry(), lastEvent);
    }
    // A pending set-up would hold app.close() as long as it takes (forever, if it never settles):
    // it is refused now, which ends its response and so aborts its @EventStreamSignal(); when it
    // settles, attach() finds the response ended and lets it go.
    for (const port of this.settingUp) {
      flushing.add(port);
      allFlushed.push(closeOf(port, flushing));
      this.refuse(port, 'shutdown');
    }
    if (flushing.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.options.shutdownGraceMs);
      });
      await Promise.race([Promise.all(allFlushed), graceOver]);
      clearTimeout(timer);
      // A client that does not read its last bytes would hold app.close() forever. A stream still
      // closing is cut (and reported) now, before lifecycle$ completes.
      for (const port of flushing) this.connections.get(port.closeKey)?.destroy('shutdown');
      for (const port of flushing) port.abort();
    }
    // The streams are drained (or cut): each HTTP/2 session gets its GOAWAY, and those still
    // open when the grace is over are destroyed.
    await this.http2Sessions.shutdown(Math.max(0, Math.round(graceEnds - performance.now())));
  }

  onApplicationShutdown(): void {
    // Not in onModuleDestroy, which Nest calls first: streams still drain (with heartbeats)
    // and report their close during beforeApplicationShutdown.
    this.heartbeat.stop();
    this.lifecycle.complete();
  }

  // --- ConnectionOwner -------------------------------------------------------------------

  frameOf(event: SseEvent): WireFrame {
    // Bytes are shared only where the library owns them (a prepared event, deep-frozen with its
    // frame: the hub's, or prepareEvent()'s). Any other object may be mutated and re-emitted by
    // its producer (scan with an accumulator), so it is serialized as it is now, for this stream.
    return preparedFrame(event) ?? new WireFrame(serializeEvent(event));
  }

  queuedBytesChanged(connection: EventStreamConnection, delta: number): void {
    this.totalQueuedBytes += delta;
    if (connection.queuedBytes > 0) this.backlogged.add(connection);
    else this.backlogged.delete(connection);
    if (delta > 0 && this.totalQueuedBytes > this.options.maxTotalBufferedBytes) {
      this.shedWorstOffenders();
    }
  }

  clientKeyOf(request: StreamRequestInfo): string | undefined {
    const key: unknown = this.options.clientKey(request);
    if (key === undefined || typeof key === 'string') return key;
    // A key (not the value: it may be private) that would count apart from the same id as a
    // string, or match nothing (an object made per request).
    throw new InvalidClientKeyError(describe(key));
  }

  eventWritten(bytes: number, route: RouteCounters | undefined): void {
    this.counters.eventsWritten++;
    this.counters.bytesWritten += bytes;
    if (route !== undefined) {
      route.eventsWritten++;
      route.bytesWritten += bytes;
    }
  }

  dropped(events: number, route: RouteCounters | undefined): void {
    this.counters.eventsDropped += events;
    if (route !== undefined) route.eventsDropped += events;
  }

  closed(connection: EventStreamConnection, reason: CloseReason): void {
    const key = connection.port.closeKey;
    if (this.connections.get(key) !== connection) return;
    this.connections.delete(key);
    this.unreserve(connection.handler, connection.limitKey);
    if (reason === 'slow-client') this.counters.slowClientsClosed++;
    // The event is made only for a subscriber of lifecycle$: not one object per stream for none.
    if (connection.announced && this.lifecycle.observed) {
      this.lifecycle.next({ type: 'close', stream: connection, reason });
    }
  }

  // --- internals ---------------------------------------------------------------------------

  private attach(
    request: StreamRequest,
    port: StreamPort,
    settings: StreamSettings,
    clientKey: string | undefined,
    source: unknown,
    /** An async set-up's release (see serve()); a synchronous one gives the slot back itself. */
    releaseReservation?: (unreserve?: boolean) => void,
  ): void {
    const handler = request.handler;
    let noContent: boolean;
    let attacher: SourceAttacher | undefined;
    try {
      // What the handler returned is read here (a getter of its own may throw): the slot goes
      // back either way.
      noContent = isNoContent(source);
      attacher = noContent ? undefined : sourceAttacher(source);
    } catch (error) {
      this.giveBack(releaseReservation, handler, clientKey);
      throw error;
    }
    if (noContent) {
      this.giveBack(releaseReservation, handler, clientKey);
      if (port.gone || port.answered) return;
      port.respond(204);
      return;
    }
    if (attacher === undefined) {
      this.giveBack(releaseReservation, handler, clientKey);
      throw new InvalidStreamSourceError(handler, describe(source));
    }
    if (port.gone) {
      // The client left during an async setup: attaching would only leak.
      this.giveBack(releaseReservation, handler, clientKey);
      return;
    }
    if (port.answered) {
      // User code answered during the async setup (reply.send() in an interceptor).
      this.giveBack(releaseReservation, handler, clientKey);
      this.alreadyAnswered(handler);
      return;
    }
    if (this.shuttingDown) {
      this.giveBack(releaseReservation, handler, clientKey);
      this.refuse(port, 'shutdown');
      return;
    }
    // From here the connection holds the reservation, and gives it back when it closes.
    releaseReservation?.(false);
    // Express's request is the raw one; Fastify's wraps it.
    const userRequest = request.request ?? port.request;
    const connection = new EventStreamConnection(
      this.nextId++,
      port,
      handler,
      clientKey,
      settings,
      this,
      userRequest,
      this.countPerRoute ? this.routeCountersOf(routeTemplateOf(userRequest, handler)) : undefined,
    );
    this.connections.set(port.closeKey, connection);
    connection.start(attacher, this.jitter);
    if (connection.isOpen) {
      connection.announced = true;
      if (this.lifecycle.observed) this.lifecycle.next({ type: 'open', stream: connection });
    }
  }

  /** Gives a reservation back: through an async set-up's release, or directly. */
  private giveBack(
    release: ((unreserve?: boolean) => void) | undefined,
    handler: string,
    clientKey: string | undefined,
  ): void {
    if (release === undefined) this.unreserve(handler, clientKey);
    else release();
  }

  private refusal(
    handler: string,
    clientKey: string | undefined,
    settings: StreamSettings,
  ): string | undefined {
    if (this.shuttingDown) return 'shutdown';
    if (this.reserved >= this.options.maxConnections) return 'maxConnections';
    if ((this.perHandler.get(handler) ?? 0) >= settings.maxConnections) return 'maxConnections';
    if (
      clientKey !== undefined &&
      (this.perClient.get(clientKey) ?? 0) >= this.options.maxConnectionsPerClient
    ) {
      return 'maxConnectionsPerClient';
    }
    return undefined;
  }

  /**
   * The response was sent before the library could answer (a hook, guard or interceptor called
   * `reply.send()`): nothing more is written on it, and the stream is not opened.
   */
  private alreadyAnswered(handler: string): void {
    this.logger.error(
      `${handler}: the response was already sent before the stream could open (reply.send() or ` +
        'a write in a hook, guard or interceptor); the stream is not opened. Leave the response ' +
        'of an @EventStream() route to the module, and throw an HttpException to refuse a request.',
    );
  }

  private refuse(port: StreamPort, limit: string): void {
    this.counters.refused++;
    this.refusedByReason.set(limit, (this.refusedByReason.get(limit) ?? 0) + 1);
    const retryMs = this.jitteredRetry(
      this.options.limitResponse === 'status' || limit === 'shutdown' ? 1 : 2,
    );
    // A keep-alive connection would outlive the server's close by keepAliveTimeout (HTTP/2's
    // sessions are Node's to close).
    const closeConnection = limit === 'shutdown' && port.protocol === '1.1';
    if (this.options.limitResponse === 'status') {
      const message = `Too many open streams (${limit}); retry later.`;
      port.respond(
        429,
        {
          'Retry-After': String(Math.ceil(retryMs / 1000)),
          'Content-Type': 'application/json; charset=utf-8',
        },
        JSON.stringify({ statusCode: 429, message, error: 'Too Many Requests', limit }),
        closeConnection,
      );
      return;
    }
    port.respondStream(
      serializeRetry(retryMs) +
        '\n' +
        serializeEvent({ type: this.options.limitEvent, data: { limit, retryMs } }),
      closeConnection,
    );
  }

  private reserve(handler: string, clientKey: string | undefined): void {
    this.reserved++;
    this.perHandler.set(handler, (this.perHandler.get(handler) ?? 0) + 1);
    if (clientKey !== undefined)
      this.perClient.set(clientKey, (this.perClient.get(clientKey) ?? 0) + 1);
  }

  private unreserve(handler: string, clientKey: string | undefined): void {
    this.reserved--;
    decrement(this.perHandler, handler);
    if (clientKey !== undefined) decrement(this.perClient, clientKey);
  }

  /** A route's counters, made on its first stream: they stand as its connections' owner. */
  private routeCountersOf(route: string): RouteCounters {
    let counters = this.routeCounters.get(route);
    if (counters === undefined) {
      counters = new RouteCounters(route);
      this.routeCounters.set(route, counters);
    }
    return counters;
  }

  private settingsOf(route: EventStreamOptions): StreamSettings {
    let settings = this.settingsCache.get(route);
    if (settings === undefined) {
      settings = routeSettings(this.options, route);
      this.settingsCache.set(route, settings);
    }
    return settings;
  }

  private jitteredRetry(scale = 1): number {
    const { reconnectDelayMs, reconnectJitterMs } = this.options;
    return Math.round((reconnectDelayMs + Math.random() * reconnectJitterMs) * scale);
  }

  private shedWorstOffenders(): void {
    const worstFirst = [...this.backlogged].toSorted((a, b) => b.queuedBytes - a.queuedBytes);
    const target = this.options.maxTotalBufferedBytes * 0.9;
    for (const connection of worstFirst) {
      if (this.totalQueuedBytes <= target) break;
      connection.destroy('slow-client');
    }
  }

  /** One closure for every stream (the retry hint of its lifetime's end). */
  private readonly jitter = (): number => this.jitteredRetry();
}

/** Resolves once the stream's response closed, taking its port out of `flushing`. */
function closeOf(port: StreamPort, flushing: Set<StreamPort>): Promise<void> {
  return new Promise((resolve) => port.onClose(() => resolve(void flushing.delete(port))));
}

function decrement(map: Map<string, number>, key: string): void {
  const count = (map.get(key) ?? 0) - 1;
  if (count <= 0) map.delete(key);
  else map.set(key, count);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object'
    ? `an instance of ${value.constructor?.name ?? 'Object'}`
    : `a ${typeof value}`;
}

import type { IncomingMessage } from 'node:http';

/**
 * What the registry tells of an open stream, for presence, filters and operators.
 *
 * @example
 * ```ts
 * streams.close((stream) => stream.clientKey === `user:${userId}`);
 * ```
 */
export interface StreamInfo {
  /** Unique within this process. */
  readonly id: number;
  /** The `@EventStream()` method, as `Class.method`. */
  readonly handler: string;
  /** The request's path and query. */
  readonly path: string;
  /** What the `clientKey` option returned for the request. */
  readonly clientKey: string | undefined;
  /** `Date.now()` when the stream opened. */
  readonly openedAt: number;
  /**
   * The raw request (after guards: `req.user` is there when an auth guard set it). Over HTTP/2
   * it is Node's `Http2ServerRequest`, which has the same `headers`, `url`, `method` and
   * `socket` (its session's).
   */
  readonly request: IncomingMessage;
}

/** Why a stream ended. */
export type CloseReason =
  'client' | 'complete' | 'error' | 'slow-client' | 'server' | 'lifetime' | 'shutdown';

/**
 * A stream opened or closed, as `StreamRegistry.lifecycle$` reports it.
 *
 * @example
 * ```ts
 * streams.lifecycle$.subscribe((e) => e.type === 'open' ? presence.add(e.stream.clientKey) : ...);
 * ```
 */
export type StreamLifecycleEvent =
  | { readonly type: 'open'; readonly stream: StreamInfo }
  | { readonly type: 'close'; readonly stream: StreamInfo; readonly reason: CloseReason };

/**
 * Counters for operators, from `StreamRegistry.stats()`.
 *
 * @example
 * ```ts
 * const { open, slowClientsClosed } = streams.stats();
 * ```
 */
export interface StreamStats {
  /** Streams open now. */
  open: number;
  /** Streams open now, per `Class.method`. */
  openByHandler: Record<string, number>;
  /** Events written to sockets since start-up (heartbeats and hints excluded). */
  eventsWritten: number;
  /** Bytes of frames written to sockets since start-up. */
  bytesWritten: number;
  /** Connections closed for exceeding their budget, or the global one. */
  slowClientsClosed: number;
  /** Events dropped for slow clients under `'drop-oldest'`. */
  eventsDropped: number;
  /** Streams refused by a connection limit or during shutdown. */
  refused: number;
}

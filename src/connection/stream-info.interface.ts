import type { IncomingHttpHeaders } from 'node:http';

/**
 * A stream's request as its route's `@Req()` sees it: Express's request on Express (Node's
 * `IncomingMessage`, with what middleware and guards put on it, `req.user`), Fastify's
 * `FastifyRequest` on Fastify (with `request.user`; its `raw` is Node's request), over HTTP/1.1
 * or HTTP/2. Annotate it with your platform's type to read what your guards set:
 * `clientKey: (req: Request) => req.user?.id`.
 */
export interface StreamRequestInfo {
  readonly headers: IncomingHttpHeaders;
  readonly url?: string;
  readonly method?: string;
  /** Express's `req.ip` (`trust proxy` applies), Fastify's `request.ip` (`trustProxy` applies). */
  readonly ip?: string;
  readonly socket?: { readonly remoteAddress?: string } | null;
}

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
   * The request as the route's `@Req()` sees it, after guards (`user` is there when an auth
   * guard set it): Express's request, or Fastify's `FastifyRequest`.
   */
  readonly request: StreamRequestInfo;
  /** The request's HTTP version: `'1.0'`, `'1.1'` or `'2'`. */
  readonly protocol: string;
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

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { WireFrame } from '../wire/wire-frame.js';

/** The raw request of a stream, over HTTP/1.x or HTTP/2. */
export type StreamRequestMessage = IncomingMessage | Http2ServerRequest;

/** The raw response of a stream, over HTTP/1.x or HTTP/2: only a port writes on it. */
export type StreamResponseMessage = ServerResponse | Http2ServerResponse;

/**
 * A listener of {@link StreamPort.onClose}. `this` is the port's {@link StreamPort.closeKey}, so
 * that one function serves every stream (a closure per stream would cost some 0.1 KB each).
 */
export type PortCloseListener = (this: object) => void;

/**
 * One stream as its transport sees it: the only thing the connection and the registry know of
 * HTTP. Each transport implements it in its own file of `src/platform/`: {@link NodeH1Port}
 * (Node's `http` response, Express or Fastify) and {@link NodeH2Port} (an HTTP/2 stream), so that
 * nothing outside that folder knows a socket, a chunk framing or a session exists.
 *
 * The contract every implementation keeps:
 * - {@link head} or one of the `respond*` methods is called once, before anything is written;
 *   the platform takes the response over from its framework right then (Fastify's `hijack()`),
 *   and never before (an error until then goes to Nest's exception filters).
 * - {@link write} never throws for a closed transport: it returns `false`, and {@link onClose}
 *   tells the owner.
 * - {@link abort} ends this stream only: never a socket shared with other streams, never an
 *   HTTP/2 session.
 * - No connection-specific header reaches an HTTP/2 client.
 */
export interface StreamPort {
  /** The HTTP version of the request, as Node reports its major version. */
  readonly protocol: '1.1' | '2';
  /** The raw request: headers, url, method (after guards: `user` is there when a guard set it). */
  readonly request: StreamRequestMessage;
  /** The client's address as the platform sees it (Fastify's `request.ip` honours `trustProxy`). */
  readonly clientAddress: string | undefined;
  /** What `this` is in {@link onClose} listeners: one object per stream (its raw response). */
  readonly closeKey: object;
  /** True once the stream cannot be written any more (ended, cut, or its client gone). */
  readonly gone: boolean;
  /**
   * True when something else already sent this response's head (a hook, guard or interceptor
   * that called `reply.send()`): the library must not answer on it.
   */
  readonly answered: boolean;
  /** Bytes written but not yet taken by the client's transport: what the byte budget counts. */
  readonly bufferedBytes: number;
  /**
   * Sends the stream's status (200) and headers now: the platform's own (Fastify's reply) and a
   * route's `@Header()` values, less those the protocol forbids. `framesDue` says frames follow at
   * once (on HTTP/1.1 they leave with the head, in one TCP segment).
   */
  head(framesDue: boolean): void;
  /** Writes one frame; `false` once the transport is full (the frame is still taken). */
  write(frame: WireFrame): boolean;
  /** Calls `listener` once, the next time the transport drained. */
  onceDrain(listener: () => void): void;
  offDrain(listener: () => void): void;
  /**
   * Calls `listener` when the stream closed, whoever closed it (client, {@link end}, {@link abort}),
   * also while its response still waits for its turn on a pipelined HTTP/1.1 connection.
   */
  onClose(listener: PortCloseListener): void;
  offClose(listener: PortCloseListener): void;
  /**
   * Answers without a stream (204, 429) and ends the response; `closeConnection` also ends an
   * HTTP/1.1 keep-alive connection (the server is closing; HTTP/2 sessions get their GOAWAY).
   */
  respond(
    status: number,
    headers?: OutgoingHttpHeaders,
    body?: string,
    closeConnection?: boolean,
  ): void;
  /** Answers a HEAD request: the stream's head, no body. */
  respondHead(): void;
  /** Answers with the stream's head and a whole body of frames, then the end (a refused stream). */
  respondStream(frames: string, closeConnection?: boolean): void;
  /** Ends the stream cleanly, after what was written: the last chunk, or END_STREAM on HTTP/2. */
  end(): void;
  /** Cuts this stream at once (a slow client): the socket on HTTP/1.1, RST_STREAM on HTTP/2. */
  abort(): void;
}

/** How a port was asked for (see `streamPortFor`). */
export interface StreamPortOptions {
  /** The platform's view of the client (Fastify's `request.ip`); the socket's address otherwise. */
  clientAddress?: string;
  /**
   * Called once, right before the port answers on the raw response itself (a stream's head,
   * HEAD, 204, a refusal), and never when an error goes to Nest's exception filters instead:
   * Fastify's glue copies the reply's headers onto the raw response and hijacks the reply here.
   */
  takeOver?: () => void;
}

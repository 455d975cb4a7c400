import { type IncomingMessage, type OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { WireFrame } from '../wire/wire-frame.js';
import type { PortCloseListener, StreamPort, StreamPortOptions } from './stream-port.interface.js';
import { RawPort } from './raw-port.js';
import { setStreamHeaders } from './stream-headers.js';
import { corkUntilNextTick, type Flushable, flushAtEndOfTick } from './tick-batch.js';

/**
 * A stream on Node's `http` response (HTTP/1.1, and HTTP/1.0 without chunks): Express, Fastify
 * without `http2`, and the HTTP/1.1 clients of an `allowHTTP1` server. Frames go to the socket
 * directly where that is byte for byte what `res.write()` would send (see {@link directSocket});
 * otherwise through `res.write()`, flushed once per tick when a middleware that compresses gives
 * a `flush()`.
 */
export class NodeH1Port
  extends RawPort<IncomingMessage, ServerResponse>
  implements StreamPort, Flushable
{
  readonly protocol = '1.1' as const;
  /** Set while a flush of a compressing middleware is due at the end of this tick. */
  flushQueued = false;
  /**
   * The socket, when frames may go to it directly: each frame is then one write of bytes shared
   * by every stream, instead of four writes through the response.
   */
  private socket?: Socket;
  /** Set by {@link end}: the response is over, though its socket may carry the next one. */
  private ended = false;
  /** A middleware's `flush()` (compression), called once per tick that wrote. */
  private flushWrapped = false;
  /**
   * Set while this response waits for its socket (see {@link onClose}): the close listeners the
   * request's socket tells, and the two listeners (made then, not for every stream) it and the
   * response hold.
   */
  private waiting?: {
    readonly listeners: Set<PortCloseListener>;
    readonly socketClosed: () => void;
    readonly socketAssigned: () => void;
  };

  constructor(request: IncomingMessage, res: ServerResponse, options: StreamPortOptions = {}) {
    super(request, res, options);
  }

  get bufferedBytes(): number {
    return this.res.writableLength;
  }

  get gone(): boolean {
    // Asked before every write: on the direct path, the socket's own flag (one class of object,
    // a fast read) and ours. A destroyed response destroys its socket, and only end() ends it.
    const socket = this.socket;
    if (socket !== undefined) return this.ended || socket.destroyed;
    const res = this.res;
    return (
      res.destroyed || res.writableEnded || (this.awaitsSocket && this.request.socket.destroyed)
    );
  }

  /**
   * Node gives a pipelined response its socket only once the responses before it are done, and
   * when that socket closes first, it destroys the queued request but never emits the
   * response's 'close': until the response owns its socket, the request's socket tells its
   * close. Its listener goes as soon as the response owns the socket (whose close the response
   * then reports) or the last close listener goes (the stream ended), so that a keep-alive
   * socket does not collect one per stream it carried.
   */
  override onClose(listener: PortCloseListener): void {
    super.onClose(listener);
    if (!this.awaitsSocket) return;
    let waiting = this.waiting;
    if (waiting === undefined) {
      waiting = this.waiting = {
        listeners: new Set(),
        socketClosed: () => this.queuedSocketClosed(),
        socketAssigned: () => this.stopWaiting(),
      };
      this.request.socket.on('close', waiting.socketClosed);
      this.res.on('socket', waiting.socketAssigned);
    }
    waiting.listeners.add(listener);
  }

  override offClose(listener: PortCloseListener): void {
    super.offClose(listener);
    const waiting = this.waiting;
    if (waiting === undefined) return;
    waiting.listeners.delete(listener);
    if (waiting.listeners.size === 0) this.stopWaiting();
  }

  head(framesDue: boolean): void {
    this.takenOver();
    const { request, res } = this;
    setStreamHeaders(request, res);
    const socket = res.socket;
    // Frames are due at once: they leave with the head, in one writev (one TCP segment).
    if (socket !== null && framesDue) corkUntilNextTick(socket);
    res.flushHeaders();
    this.socket = directSocket(res);
    this.flushWrapped =
      this.socket === undefined && typeof (res as { flush?: unknown }).flush === 'function';
    releaseRouterState(request);
  }

  write(frame: WireFrame): boolean {
    const socket = this.socket;
    if (socket === undefined) {
      // A compressing middleware holds what it is given until flushed: once per tick.
      if (this.flushWrapped) flushAtEndOfTick(this);
      return this.res.write(frame.payload);
    }
    // Frames of one tick leave together, in one writev, as Node's own response writes do.
    corkUntilNextTick(socket);
    return socket.write(frame.chunk);
  }

  onceDrain(listener: () => void): void {
    (this.socket ?? this.res).once('drain', listener);
  }

  offDrain(listener: () => void): void {
    (this.socket ?? this.res).off('drain', listener);
  }

  respond(
    status: number,
    headers: OutgoingHttpHeaders = {},
    body?: string,
    closeConnection = false,
  ): void {
    this.takenOver();
    const res = this.res;
    res.statusCode = status;
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined) res.setHeader(name, value);
    }
    // A keep-alive connection would outlive the server's close by keepAliveTimeout.
    if (closeConnection) res.setHeader('Connection', 'close');
    res.end(body);
  }

  respondHead(): void {
    this.takenOver();
    setStreamHeaders(this.request, this.res);
    this.res.end();
  }

  respondStream(frames: string, closeConnection = false): void {
    this.takenOver();
    setStreamHeaders(this.request, this.res);
    if (closeConnection) this.res.setHeader('Connection', 'close');
    this.res.end(frames);
  }

  end(): void {
    this.ended = true;
    this.res.end();
  }

  abort(): void {
    this.res.destroy();
  }

  /** True while the response is queued behind the ones before it on a pipelined connection. */
  private get awaitsSocket(): boolean {
    // After its end, a response gives its socket back: it is done, and its 'close' comes.
    return this.res.socket === null && !this.res.writableFinished;
  }

  private queuedSocketClosed(): void {
    const listeners = [...this.waiting!.listeners];
    this.stopWaiting();
    for (const listener of listeners) listener.call(this.closeKey);
  }

  private stopWaiting(): void {
    const waiting = this.waiting;
    if (waiting === undefined) return;
    this.waiting = undefined;
    this.request.socket.off('close', waiting.socketClosed);
    this.res.off('socket', waiting.socketAssigned);
  }

  flushNow(): void {
    this.flushQueued = false;
    if (!this.res.writableEnded) (this.res as unknown as { flush(): void }).flush();
  }
}

/**
 * Express's router leaves its continuation on the request (`req.next`) until the chain goes on;
 * it holds the router's per-request state and Express's final handler (some 0.7 KB). An open
 * stream never goes on, so it is let go (assigned, not deleted: a delete would turn the request
 * into a slow dictionary object).
 */
function releaseRouterState(request: IncomingMessage): void {
  const req = request as IncomingMessage & { next?: unknown };
  if (typeof req.next === 'function') req.next = undefined;
}

/**
 * The response's socket, if frames may be written to it directly: an HTTP/1.1 chunked response
 * whose headers are on the socket already (nothing held in the response), and so owned by this
 * response (Node gives a pipelined response its socket only once the responses before it are
 * done), and whose `write` nobody wrapped (compression middleware does: its frames must go
 * through it). The chunks are byte for byte what `res.write()` would have sent, and `res.end()`
 * still writes the last chunk.
 */
function directSocket(res: ServerResponse): Socket | undefined {
  const socket = res.socket;
  if (
    socket === null ||
    !res.chunkedEncoding ||
    res.write !== ServerResponse.prototype.write ||
    res.writableLength !== socket.writableLength
  ) {
    return undefined;
  }
  return socket;
}

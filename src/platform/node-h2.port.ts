import type { OutgoingHttpHeaders } from 'node:http';
import {
  constants,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { WireFrame } from '../wire/wire-frame.js';
import type { StreamPort, StreamPortOptions } from './stream-port.interface.js';
import { RawPort } from './raw-port.js';
import { setStreamHeaders } from './stream-headers.js';

/**
 * Response headers HTTP/2 forbids (RFC 9113 §8.2.2), lower-cased. Node drops `Connection` with a
 * process warning, and throws `ERR_HTTP2_INVALID_CONNECTION_HEADERS` from `writeHead` for every
 * other one: a route's `@Header('Keep-Alive', …)` would make the stream fail to open.
 */
export const HTTP2_CONNECTION_HEADERS: readonly string[] = [
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'te',
  'http2-settings',
];

/** What a port needs from the per-application HTTP/2 owner (`NodeH2Sessions`). */
export interface NodeH2PortOwner {
  /** Told the names of the headers a port dropped, so that it can warn once per name. */
  droppedHeaders(names: readonly string[]): void;
  /** Told when a stream opens on a session, and when it ends (see `NodeH2Sessions`). */
  streamOpened(session: ServerHttp2Session): void;
  streamEnded(session: ServerHttp2Session): void;
}

/**
 * One stream of an HTTP/2 session (Fastify `http2: true`, or a plain `node:http2` server's
 * compatibility API).
 *
 * - A frame's bytes go out with `res.write(frame.payload)`: each write becomes DATA frames, so
 *   there is no chunk framing, and the session's socket is never touched (it is shared by every
 *   stream of the session, and Node throws `ERR_HTTP2_NO_SOCKET_MANIPULATION` on its writes).
 * - Backpressure is this stream's own: `write()` is `false` past the stream's high-water mark
 *   and `'drain'` comes from the response; the budget counts the stream's `writableLength`, the
 *   bytes its peer's flow-control window has not taken yet.
 * - {@link abort} resets this stream (`RST_STREAM`, code `CANCEL`, 8): its siblings on the session
 *   keep flowing.
 */
export class NodeH2Port
  extends RawPort<Http2ServerRequest, Http2ServerResponse>
  implements StreamPort
{
  readonly protocol = '2' as const;
  /** The response's own stream, read once: `res.stream` is a getter of the compatibility API. */
  private readonly stream: ServerHttp2Stream;
  /** Set once this side ended the response ({@link end}, or an answer without a stream). */
  private ended = false;

  constructor(
    request: Http2ServerRequest,
    res: Http2ServerResponse,
    private readonly owner: NodeH2PortOwner,
    options: StreamPortOptions = {},
  ) {
    super(request, res, options);
    this.stream = res.stream;
  }

  get gone(): boolean {
    // Asked before every write: the stream's own flag and ours, not the response's getters.
    return this.ended || this.stream.destroyed;
  }

  get bufferedBytes(): number {
    return this.stream.writableLength;
  }

  head(): void {
    this.takenOver();
    setStreamHeaders(this.request, this.res);
    this.res.writeHead(200, this.allowed({}));
    // Without it the HEADERS frame waits for the first DATA frame: a quiet stream would look
    // unanswered to the client. (Http2ServerResponse has flushHeaders(); its typings lack it.)
    (this.res as Http2ServerResponse & { flushHeaders(): void }).flushHeaders();
    const session = this.stream.session as ServerHttp2Session | undefined;
    if (session !== undefined && !this.stream.destroyed) {
      this.owner.streamOpened(session);
      this.stream.once('close', () => this.owner.streamEnded(session));
    }
  }

  write(frame: WireFrame): boolean {
    // A reset or ended stream: writing would raise ERR_HTTP2_INVALID_STREAM; 'close' tells the owner.
    if (this.gone) return false;
    // Straight to the stream once its head is out: the response's write only checks its state
    // and hands the bytes on (its 'drain' is the stream's).
    return this.stream.write(frame.payload);
  }

  onceDrain(listener: () => void): void {
    this.res.once('drain', listener);
  }

  offDrain(listener: () => void): void {
    this.res.off('drain', listener);
  }

  respond(status: number, headers: OutgoingHttpHeaders = {}, body?: string): void {
    this.takenOver();
    if (this.gone) return;
    this.res.writeHead(status, this.allowed(headers));
    this.ended = true;
    if (body === undefined) this.res.end();
    else this.res.end(body);
  }

  respondHead(): void {
    this.respondWithStreamHead();
  }

  respondStream(frames: string): void {
    this.respondWithStreamHead(frames);
  }

  end(): void {
    this.ended = true;
    if (!this.stream.destroyed) this.res.end();
  }

  abort(): void {
    // Never the session nor its socket: every other stream of this client lives on them.
    if (!this.res.stream.destroyed) this.res.stream.close(constants.NGHTTP2_CANCEL);
  }

  private respondWithStreamHead(body?: string): void {
    this.takenOver();
    if (this.gone) return;
    setStreamHeaders(this.request, this.res);
    this.res.writeHead(200, this.allowed({}));
    this.ended = true;
    if (body === undefined) this.res.end();
    else this.res.end(body);
  }

  /**
   * `headers` without the connection-specific ones, which are also removed from what the response
   * already holds (a `@Header()` or a middleware's `setHeader`), since `writeHead` merges those in.
   */
  private allowed(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
    let dropped: string[] | undefined;
    const kept: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (HTTP2_CONNECTION_HEADERS.includes(name.toLowerCase())) (dropped ??= []).push(name);
      else kept[name] = value;
    }
    for (const name of this.res.getHeaderNames()) {
      if (HTTP2_CONNECTION_HEADERS.includes(name)) {
        this.res.removeHeader(name);
        (dropped ??= []).push(name);
      }
    }
    if (dropped !== undefined) this.owner.droppedHeaders(dropped);
    return kept;
  }
}

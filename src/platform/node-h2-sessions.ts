import { Logger } from '@nestjs/common';
import {
  createSecureServer,
  createServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from 'node:http2';
import type { Socket } from 'node:net';
import { NodeH2Port, type NodeH2PortOwner } from './node-h2.port.js';
import type { StreamPortOptions } from './stream-port.interface.js';

/**
 * The HTTP/2 side of one application: it makes the ports of its streams, remembers the sessions
 * they came on, warns once per connection-specific header it had to drop, and ends the sessions
 * at shutdown.
 *
 * Why sessions are tracked: on Node 20 a server's `close()` waits for every session, and an idle
 * one stays until its timeout (Fastify's `http2SessionTimeout`, 72 s), so `app.close()` would hang
 * that long. {@link shutdown} sends GOAWAY to each and destroys the ones still open after the grace.
 */
export class NodeH2Sessions implements NodeH2PortOwner {
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly warned = new Set<string>();
  /** The connections under the sessions, for the last resort after the grace. */
  private readonly connections = new Set<Socket>();
  private watched?: {
    server: SessionSource;
    onSession: (session: ServerHttp2Session) => void;
    onConnection: (socket: Socket) => void;
  };
  private closing = false;
  /**
   * Sessions carrying event streams whose idle timeout (Fastify's `http2SessionTimeout`) is held
   * off meanwhile: how many streams, and the timeout to give back when the last one ends.
   */
  private readonly heldTimeouts = new Map<
    ServerHttp2Session,
    { streams: number; timeoutMs: number }
  >();

  constructor(private readonly warn: (message: string) => void = defaultWarn) {}

  /**
   * Follows every session of `server` (an HTTP/2 server; any other is left alone), so that
   * shutdown also ends those that carried only plain requests, and the connections under them.
   * Stopped by {@link shutdown}.
   */
  watch(server: unknown): void {
    if (this.watched !== undefined || !isSessionSource(server)) return;
    const onSession = (session: ServerHttp2Session) => this.track(session);
    const onConnection = (socket: Socket) => {
      this.connections.add(socket);
      socket.once('close', () => this.connections.delete(socket));
    };
    server.on('session', onSession);
    server.on('connection', onConnection);
    this.watched = { server, onSession, onConnection };
  }

  /** The port of a stream; `options.clientAddress` is the platform's (Fastify's `request.ip`). */
  portFor(
    req: Http2ServerRequest,
    res: Http2ServerResponse,
    options: StreamPortOptions = {},
  ): NodeH2Port {
    this.track(req.stream.session as ServerHttp2Session | undefined);
    return new NodeH2Port(req, res, this, options);
  }

  /**
   * A stream opened on `session`. While a session carries an event stream its idle timeout is
   * off: a stream is never idle (heartbeats, or the client's own timeout; a stream that stops
   * reading is cut by its budget), and Node refreshes that timer on every write, which cost a
   * delivery some 15 % of its CPU in fan-out (plain Fastify h2c, `bench/`). The timeout is given
   * back when the session's last stream ends, so an idle session still times out.
   */
  streamOpened(session: ServerHttp2Session): void {
    if (session.destroyed) return;
    let held = this.heldTimeouts.get(session);
    if (held === undefined) {
      const timeoutMs = (session as ServerHttp2Session & { timeout?: number }).timeout ?? 0;
      if (!(timeoutMs > 0)) return;
      held = { streams: 0, timeoutMs };
      this.heldTimeouts.set(session, held);
      session.setTimeout(0);
    }
    held.streams++;
  }

  /** A stream of `session` told to {@link streamOpened} ended. */
  streamEnded(session: ServerHttp2Session): void {
    const held = this.heldTimeouts.get(session);
    if (held === undefined || --held.streams > 0) return;
    this.heldTimeouts.delete(session);
    if (!session.destroyed && !session.closed) session.setTimeout(held.timeoutMs);
  }

  /** Sessions seen and not yet closed. */
  get openSessions(): number {
    return this.sessions.size;
  }

  droppedHeaders(names: readonly string[]): void {
    const fresh = [...new Set(names.map((name) => name.toLowerCase()))].filter(
      (name) => !this.warned.has(name),
    );
    if (fresh.length === 0) return;
    for (const name of fresh) this.warned.add(name);
    this.warn(
      `HTTP/2 forbids connection-specific headers (RFC 9113 §8.2.2): dropped ${fresh
        .map((name) => `"${name}"`)
        .join(', ')} from the event streams' responses. Remove them from the route ` +
        '(@Header(), middleware) to silence this warning; HTTP/1.1 clients still get them.',
    );
  }

  /**
   * Sends GOAWAY to every session seen (no new streams; open ones may finish), and resolves once
   * all are closed, destroying those still open after `graceMs`.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.closing = true;
    if (this.watched !== undefined) {
      this.watched.server.off('session', this.watched.onSession);
      this.watched.server.off('connection', this.watched.onConnection);
      this.watched = undefined;
    }
    const open = [...this.sessions].filter((session) => !session.destroyed);
    if (open.length === 0) return;
    const closed = open.map(
      (session) => new Promise<void>((resolve) => session.once('close', () => resolve())),
    );
    for (const session of open) if (!session.closed) session.close();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'grace'>((resolve) => {
      timer = setTimeout(() => resolve('grace'), graceMs);
    });
    const outcome = await Promise.race([Promise.all(closed), grace]);
    clearTimeout(timer);
    if (outcome === 'grace') {
      for (const session of open) if (!session.destroyed) session.destroy();
      // A destroyed session still waits for its peer to end the connection (a client that
      // ignores GOAWAY, or one whose stream it never reads): the grace is over, so it is cut.
      for (const socket of this.connections) socket.destroy();
      await Promise.all(closed);
    }
    this.connections.clear();
  }

  private track(session: ServerHttp2Session | undefined): void {
    if (session === undefined || this.sessions.has(session) || session.destroyed) return;
    this.sessions.add(session);
    session.once('close', () => {
      this.sessions.delete(session);
      this.heldTimeouts.delete(session);
    });
    // A session that arrives during shutdown is told at once that no new stream will be served.
    if (this.closing && !session.closed) session.close();
  }
}

/** The part of an HTTP/2 server (or any emitter) that {@link NodeH2Sessions.watch} uses. */
interface SessionSource {
  on(event: 'session' | 'connection', listener: (value: never) => void): unknown;
  off(event: 'session' | 'connection', listener: (value: never) => void): unknown;
}

/** An HTTP/2 server (cleartext or TLS): its sessions are what shutdown must end. */
function isSessionSource(value: unknown): value is SessionSource {
  return value instanceof Http2ServerClass || value instanceof Http2SecureServerClass;
}

// node:http2 exports no server classes, only their factories.
const Http2ServerClass = Object.getPrototypeOf(createServer()).constructor as abstract new (
  ...args: never[]
) => object;
const Http2SecureServerClass = Object.getPrototypeOf(createSecureServer())
  .constructor as abstract new (...args: never[]) => object;

function defaultWarn(message: string): void {
  new Logger('EventStream').warn(message);
}

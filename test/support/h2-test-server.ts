import type { IncomingHttpHeaders } from 'node:http';
import {
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TestCertificate } from './tls-certificate.js';

type Handler = (req: Http2ServerRequest, res: Http2ServerResponse) => void;

/**
 * A plain `node:http2` server on an ephemeral loopback port (not Nest: the helpers and ports are
 * tested against the transport itself), with its sessions followed so that `close()` ends them.
 */
export class H2TestServer {
  readonly sessions = new Set<ServerHttp2Session>();
  /** The request headers of every request, in order. */
  readonly requests: IncomingHttpHeaders[] = [];

  private constructor(readonly server: Http2Server | Http2SecureServer) {
    server.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    server.on('request', (req: Http2ServerRequest) => this.requests.push(req.headers));
  }

  /** Cleartext (h2c, prior knowledge) or, given a certificate, TLS with `allowHTTP1` as set. */
  static async start(
    handler: Handler,
    tls?: TestCertificate & { allowHTTP1?: boolean },
  ): Promise<H2TestServer> {
    const server =
      tls === undefined
        ? createServer(handler)
        : createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: tls.allowHTTP1 }, handler);
    const started = new H2TestServer(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return started;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get origin(): string {
    return `${'setTicketKeys' in this.server ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** Resolves once no session is open (every client went away). */
  async whenNoSessions(): Promise<void> {
    await Promise.all(
      [...this.sessions].map((s) => new Promise((resolve) => s.once('close', resolve))),
    );
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

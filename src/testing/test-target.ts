import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as TlsServer } from 'node:tls';

/**
 * What the test helpers can talk to: an `INestApplication`, its `getHttpServer()` (a `node:http`,
 * `node:https` or `node:http2` server), or the origin of a server running elsewhere
 * (`'https://127.0.0.1:8443'`).
 */
export type ServerLike = Server | { getHttpServer(): unknown } | { address(): unknown } | string;

/** TLS settings of a test client, for a server with a self-signed certificate. */
export interface TestTlsOptions {
  /** The certificate (or CA) to trust, PEM. */
  ca?: string | Buffer;
  /** `false` accepts any certificate. @default true */
  rejectUnauthorized?: boolean;
}

/** Where and how a helper connects. */
export interface TestTarget {
  readonly origin: string;
  readonly secure: boolean;
  /** True when the server speaks HTTP/2 (a `node:http2` server, or Fastify's `http2: true`). */
  readonly http2Server: boolean;
}

interface ListenableServer {
  listening: boolean;
  address(): AddressInfo | string | null;
  listen(port: number, host: string, callback: () => void): unknown;
  once(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
}

/** The origin of `server`, listening on an ephemeral loopback port first if it is not yet. */
export async function resolveTarget(server: ServerLike): Promise<TestTarget> {
  if (typeof server === 'string') {
    const url = new URL(server);
    return { origin: url.origin, secure: url.protocol === 'https:', http2Server: false };
  }
  const node = (
    typeof (server as { getHttpServer?: unknown }).getHttpServer === 'function'
      ? (server as { getHttpServer(): unknown }).getHttpServer()
      : server
  ) as ListenableServer;
  if (!node.listening) {
    await new Promise<void>((resolve, reject) => {
      node.once('error', reject);
      node.listen(0, '127.0.0.1', () => {
        node.off('error', reject);
        resolve();
      });
    });
  }
  const address = node.address() as AddressInfo;
  const secure = node instanceof TlsServer;
  return {
    origin: `${secure ? 'https' : 'http'}://${hostOf(address)}:${address.port}`,
    secure,
    // Only node:http2's servers (plain and secure) have updateSettings().
    http2Server: typeof (node as { updateSettings?: unknown }).updateSettings === 'function',
  };
}

function hostOf(address: AddressInfo): string {
  if (address.address === '0.0.0.0' || address.address === '::') return '127.0.0.1';
  return address.family === 'IPv6' ? `[${address.address}]` : address.address;
}

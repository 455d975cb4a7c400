import type { IncomingHttpHeaders } from 'node:http';
import type { ClientHttp2Session, Settings } from 'node:http2';
import { type ChannelRequest, openHttp1Channel } from './http1-channel.js';
import { connectHttp2, openHttp2Channel } from './http2-channel.js';
import { type ParsedEvent, TestEventStream } from './test-event-stream.js';
import { resolveTarget, type ServerLike, type TestTlsOptions } from './test-target.js';

/** How {@link openEventStream} requests the stream. */
export interface OpenEventStreamOptions {
  /** Path and query. @default '/' */
  path?: string;
  /** @default 'GET' */
  method?: string;
  /** Sent as is; `Accept: text/event-stream` is added unless given. */
  headers?: Record<string, string>;
  /** A request body; objects are sent as JSON. */
  body?: string | object;
  /** How long any wait may take before it fails. @default 5000 */
  timeoutMs?: number;
  /**
   * Which HTTP version to speak. By default it follows the server: HTTP/2 for a `node:http2`
   * server (Fastify's `http2: true`), with prior knowledge over cleartext (h2c) and ALPN over TLS;
   * HTTP/1.1 otherwise. `false` speaks HTTP/1.1 to an HTTP/2 server that has `allowHTTP1: true`;
   * `true` forces HTTP/2 (an origin given as a string cannot be detected). An object is `true`
   * with these TLS settings.
   * @default the server's protocol
   */
  http2?: boolean | TestTlsOptions;
  /**
   * For a TLS server (`https`, or HTTP/2 with a `key` and `cert`): what to trust. A self-signed
   * test certificate needs its PEM as `ca`, or `rejectUnauthorized: false`.
   * @default { rejectUnauthorized: true }
   */
  tls?: TestTlsOptions;
  /**
   * An HTTP/2 session of the test's own (see {@link openHttp2Session}): the stream opens on it,
   * beside the session's other streams, and `close()` resets only this stream.
   */
  session?: ClientHttp2Session;
}

/**
 * Opens a stream on a test server (listening on an ephemeral port if it is not yet) and resolves
 * once the response headers arrived, whatever the status. Speaks HTTP/1.1 or HTTP/2 as the server
 * does (see {@link OpenEventStreamOptions.http2}).
 *
 * @example
 * ```ts
 * const app = moduleRef.createNestApplication();
 * await app.init();
 * const stream = await openEventStream(app, { path: '/' });
 * expect(stream.headers['content-type']).toBe('text/event-stream');
 * ```
 * @example
 * ```ts
 * // Fastify over TLS HTTP/2, with the certificate the test generated.
 * const stream = await openEventStream(app, { path: '/', tls: { ca: cert } });
 * expect(stream.protocol).toBe('2');
 * ```
 */
export async function openEventStream(
  server: ServerLike,
  options: OpenEventStreamOptions = {},
): Promise<TestEventStream> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const target = await resolveTarget(server);
  const request = channelRequest(options, timeoutMs);
  const http2 = options.session !== undefined || wantsHttp2(options.http2, target.http2Server);
  const channel = http2
    ? await openHttp2Channel(target, request, options.session)
    : await openHttp1Channel(target, request);
  return new TestEventStream(channel, timeoutMs);
}

/**
 * Opens an HTTP/2 session to a test server, for several streams on one connection (pass it as
 * `session` to {@link openEventStream}). The test closes it (`session.close()`).
 *
 * @example
 * ```ts
 * const session = await openHttp2Session(app, { settings: { initialWindowSize: 1024 } });
 * const slow = await openEventStream(app, { session, path: '/feed' });
 * const fast = await openEventStream(app, { session, path: '/feed' });
 * ```
 */
export async function openHttp2Session(
  server: ServerLike,
  options: { tls?: TestTlsOptions; settings?: Settings } = {},
): Promise<ClientHttp2Session> {
  return connectHttp2(await resolveTarget(server), options.tls ?? {}, options.settings);
}

/**
 * Opens a stream, collects `count` events, disconnects, and returns them with the raw bytes.
 *
 * @example
 * ```ts
 * const { events } = await collectEvents(app, { path: '/', count: 2 });
 * expect(events.map((e) => e.data)).toEqual(['hello', 'hello']);
 * ```
 */
export async function collectEvents(
  server: ServerLike,
  options: OpenEventStreamOptions & { count: number },
): Promise<{ events: ParsedEvent[]; raw: string; status: number; headers: IncomingHttpHeaders }> {
  const stream = await openEventStream(server, options);
  try {
    const events = await stream.waitForEvents(options.count);
    return { events, raw: stream.raw, status: stream.status, headers: stream.headers };
  } finally {
    await stream.close();
  }
}

function wantsHttp2(choice: OpenEventStreamOptions['http2'], http2Server: boolean): boolean {
  if (choice === undefined) return http2Server;
  return choice !== false;
}

function channelRequest(options: OpenEventStreamOptions, timeoutMs: number): ChannelRequest {
  const body =
    options.body === undefined || typeof options.body === 'string'
      ? options.body
      : JSON.stringify(options.body);
  const headers: Record<string, string> = {
    accept: 'text/event-stream',
    ...lowerCaseKeys(options.headers),
  };
  if (
    body !== undefined &&
    typeof options.body === 'object' &&
    headers['content-type'] === undefined
  ) {
    headers['content-type'] = 'application/json';
  }
  const tls = {
    ...(typeof options.http2 === 'object' ? options.http2 : {}),
    ...options.tls,
  };
  return {
    path: options.path ?? '/',
    method: options.method ?? 'GET',
    headers,
    body,
    timeoutMs,
    tls,
  };
}

function lowerCaseKeys(headers: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]),
  );
}

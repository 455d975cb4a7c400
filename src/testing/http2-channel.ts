import type { IncomingHttpHeaders } from 'node:http';
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants,
  type IncomingHttpHeaders as Http2Headers,
  type SecureClientSessionOptions,
} from 'node:http2';
import { type ChannelRequest, headersTimeout } from './http1-channel.js';
import type { ResponseChannel } from './test-event-stream.js';
import type { TestTarget, TestTlsOptions } from './test-target.js';

/**
 * Opens an HTTP/2 session to `target`: with prior knowledge over cleartext (h2c), by ALPN over
 * TLS. Resolves once the session is connected.
 */
export function connectHttp2(
  target: TestTarget,
  tls: TestTlsOptions,
  settings: SecureClientSessionOptions['settings'] = {},
): Promise<ClientHttp2Session> {
  const session = connect(target.origin, {
    settings,
    ...(target.secure ? { ca: tls.ca, rejectUnauthorized: tls.rejectUnauthorized ?? true } : {}),
  });
  return new Promise((resolve, reject) => {
    session.once('connect', () => {
      session.off('error', reject);
      // A server's GOAWAY or a reset socket: the streams report it, the session must not throw.
      session.on('error', () => undefined);
      resolve(session);
    });
    session.once('error', reject);
  });
}

/**
 * Sends the request as one stream, on `shared` if given (closing it then leaves the session open)
 * or on a session of its own (closed with the stream), and resolves once the headers arrived.
 */
export async function openHttp2Channel(
  target: TestTarget,
  request: ChannelRequest,
  shared?: ClientHttp2Session,
): Promise<ResponseChannel> {
  const session = shared ?? (await connectHttp2(target, request.tls));
  const { host: _host, connection: _connection, ...headers } = request.headers;
  const stream = session.request(
    { ...headers, ':method': request.method, ':path': request.path },
    { endStream: request.body === undefined },
  );
  if (request.body !== undefined) stream.end(request.body);
  const streamClosed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
  if (shared === undefined) {
    // The session lives as long as its one stream, whoever ends the stream.
    void streamClosed.then(() => session.close());
  }
  const sessionClosed =
    shared === undefined
      ? new Promise<void>((resolve) => session.once('close', () => resolve()))
      : streamClosed;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.close(constants.NGHTTP2_CANCEL);
      reject(headersTimeout(request));
    }, request.timeoutMs);
    const onError = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    stream.once('error', onError);
    stream.once('response', (head) => {
      clearTimeout(timer);
      stream.off('error', onError);
      resolve(http2Channel(stream, head, sessionClosed));
    });
    stream.once('close', () => {
      clearTimeout(timer);
      reject(
        new Error(
          `The stream of ${request.path} closed (code ${stream.rstCode}) before its headers`,
        ),
      );
    });
  });
}

function http2Channel(
  stream: ClientHttp2Stream,
  head: Http2Headers,
  closed: Promise<void>,
): ResponseChannel {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(head)) {
    if (!name.startsWith(':')) headers[name] = value;
  }
  return {
    protocol: '2',
    status: Number(head[':status']),
    headers,
    body: stream,
    get resetCode() {
      const code = stream.rstCode;
      // A stream that ended normally reports NO_ERROR (0): only a reset has a code worth naming.
      return code === undefined || code === constants.NGHTTP2_NO_ERROR ? undefined : code;
    },
    async cancel() {
      if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      await closed;
    },
  };
}

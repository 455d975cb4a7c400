import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import vary from 'vary';
import { EVENT_STREAM_MEDIA_TYPE } from '../sse.constants.js';
import type { StreamRequestMessage } from './stream-port.interface.js';

/**
 * Sets the status and headers of a stream on a response that has sent nothing yet. Headers a
 * route set with `@Header()` win, except `Content-Type`, of which only the parameters (such as
 * `charset`) are kept: the media type of a stream is not negotiable.
 */
export function setStreamHeaders(
  req: StreamRequestMessage,
  res: ServerResponse | Http2ServerResponse,
): void {
  // Any other status (Nest answers POST with 201) makes a browser's EventSource give up.
  res.statusCode = 200;
  // A negotiated answer (a stream, a plain answer or 406 on one path): kept beside a Vary of the
  // route's own (`@Header('Vary', …)`, set after the dispatcher added Accept).
  varyOnAccept(res);
  const userType = res.getHeader('content-type');
  const separator = typeof userType === 'string' ? userType.indexOf(';') : -1;
  res.setHeader(
    'Content-Type',
    separator === -1
      ? EVENT_STREAM_MEDIA_TYPE
      : EVENT_STREAM_MEDIA_TYPE + (userType as string).slice(separator),
  );
  if (!res.hasHeader('cache-control')) {
    // no-transform keeps compression middleware and proxies from buffering the stream.
    res.setHeader('Cache-Control', 'no-cache, no-transform');
  }
  if (!res.hasHeader('x-accel-buffering')) {
    res.setHeader('X-Accel-Buffering', 'no');
  }
  // A connection-specific header is forbidden on HTTP/2, and its socket is shared by every
  // stream of the session, so it is left alone there.
  if (req.httpVersionMajor === 1) {
    // No `Connection` header is set here: Node writes its own from what it knows (`keep-alive`
    // with `Keep-Alive: timeout=…`, or `close` for HTTP/1.0, a client that asked to close, and
    // past `maxRequestsPerSocket`, where a `keep-alive` of ours sent the next request into a 503).
    //
    // Small frames go out at once (a no-op where the server already set it: Node's default), and
    // a quiet stream is not cut by the server's idle timeout. No TCP keep-alive: with the OS's
    // default delay (two hours) its probes find no dead client that heartbeats would not find
    // first, and it costs two system calls per stream (the server's `keepAlive` option sets it).
    const socket = (req as IncomingMessage).socket as IncomingMessage['socket'] | null;
    socket?.setNoDelay?.(true);
    // Only if a timeout was set (the server's `timeout` option): `timeout` is unset until then.
    if (socket?.timeout) socket.setTimeout(0);
  }
}

/**
 * Adds `Accept` to a response's `Vary`, beside any value set before: `vary` parses the header
 * it finds, which it need not for a response whose `Vary` is `Accept` already or unset.
 */
export function varyOnAccept(res: ServerResponse | Http2ServerResponse): void {
  const current = res.getHeader('vary');
  if (current === 'Accept') return;
  if (current === undefined) res.setHeader('Vary', 'Accept');
  else vary(res as ServerResponse, 'Accept');
}

/** The platform's view of a request's client: `req.ip` (Express, Fastify), else the socket's. */
export function clientAddressOf(req: StreamRequestMessage): string | undefined {
  return (req as { ip?: string }).ip ?? req.socket?.remoteAddress;
}

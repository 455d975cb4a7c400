import type { IncomingMessage } from 'node:http';

/**
 * The path template a stream's request was routed by (`http.route`): what the platform's router
 * matched, as Nest registered it (global prefix, versions and controller path applied), never
 * the request's own path, which holds ids. Express keeps it on `req.route.path`, Fastify on
 * `request.routeOptions.url`; when neither is there, the handler's `Class.method` stands in (as
 * bounded, if less telling).
 */
export function routeTemplateOf(request: IncomingMessage, handler: string): string {
  const req = request as IncomingMessage & {
    route?: { path?: unknown };
    routeOptions?: { url?: unknown };
  };
  const path = req.route?.path ?? req.routeOptions?.url;
  return typeof path === 'string' ? path : handler;
}

/** `network.protocol.version` of a request: `1.1`, or `2` for HTTP/2 (Node says `2.0`). */
export function protocolVersionOf(request: IncomingMessage): string {
  return request.httpVersionMajor === 2 ? '2' : request.httpVersion;
}

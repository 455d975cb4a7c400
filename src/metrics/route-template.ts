import type { StreamRequestInfo } from '../connection/stream-info.interface.js';

/**
 * The path template a stream's request was routed by (`http.route`): what the platform's router
 * matched, as Nest registered it (global prefix, versions and controller path applied), never
 * the request's own path, which holds ids. Express keeps it on `req.route.path`, Fastify on
 * `request.routeOptions.url` (of its `FastifyRequest`, which is what a stream is given); when
 * neither is there, the handler's `Class.method` stands in (as bounded, if less telling).
 */
export function routeTemplateOf(request: StreamRequestInfo, handler: string): string {
  const req = request as StreamRequestInfo & {
    route?: { path?: unknown };
    routeOptions?: { url?: unknown };
  };
  const path = req.route?.path ?? req.routeOptions?.url;
  return typeof path === 'string' ? path : handler;
}

import { NotAcceptableException } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import vary from 'vary';
import { STREAM_CONTEXT_KEY } from '../sse.constants.js';
import {
  NOT_ACCEPTABLE_MESSAGE,
  type RouteGlue,
  type RouteHandler,
  type StreamContext,
} from './route-glue.interface.js';

/** The parts of a FastifyRequest the glue uses (fastify stays an optional peer: no import). */
interface FastifyRequestLike {
  raw: (IncomingMessage | Http2ServerRequest) & { ip?: string };
  headers: IncomingMessage['headers'];
  ip: string;
}

/** The parts of a FastifyReply the glue uses. */
interface FastifyReplyLike {
  raw: ServerResponse | Http2ServerResponse;
  getHeaders(): Record<string, number | string | string[] | undefined>;
  getHeader(name: string): unknown;
  header(name: string, value: unknown): unknown;
  hijack(): unknown;
  [STREAM_CONTEXT_KEY]?: StreamContext;
}

interface FastifyInstanceLike {
  addHook(
    name: 'onSend',
    hook: (request: unknown, reply: FastifyReplyLike, payload: unknown) => Promise<unknown>,
  ): unknown;
}

// Where Nest's FastifyAdapter reads @RouteConfig(), @RouteConstraints() and @RouteSchema()
// (platform-fastify's constants): a route's options, so part of what makes it one route.
const ROUTE_OPTION_KEYS = [
  '__fastify_route_config__',
  '__fastify_route_constraints__',
  '__fastify_route_schema__',
];

// The replies whose plain answer gets `Vary: Accept`, read by the onSend hook.
const VARY_ON_ACCEPT = Symbol('nestjs-event-stream.vary-on-accept');

/**
 * Fastify: a route is its method, path and constraints (the version Nest puts on the handler
 * becomes `constraints: { version }`, and `@RouteConstraints()`, `@RouteConfig()`,
 * `@RouteSchema()` travel as metadata), so they are part of the key and copied onto the
 * dispatcher. Fastify calls `(request, reply)`, with no `next`; `Vary` goes on plain answers
 * through one `onSend` hook (after `@Header('Vary', …)`); a stream takes the raw response over
 * with `reply.hijack()`, which also stops Fastify's `handlerTimeout` from cutting it.
 */
export const fastifyGlue: RouteGlue = {
  type: 'fastify',

  groupKey(method, [path, handler, ...rest]) {
    if (typeof handler !== 'function' || rest.length > 0) return undefined;
    const version = (handler as { version?: unknown }).version;
    const options = ROUTE_OPTION_KEYS.map((key) => Reflect.getMetadata(key, handler));
    return `${method} ${String(path)} ${stableJson([version, ...options])}`;
  },

  install(adapter) {
    const instance = (adapter as { getInstance(): FastifyInstanceLike }).getInstance();
    instance.addHook('onSend', async (_request, reply, payload) => {
      if (reply[VARY_ON_ACCEPT as never] === true) {
        // On the reply, whose headers Fastify writes over the raw response's.
        const current = reply.getHeader('vary');
        reply.header(
          'Vary',
          vary.append(
            Array.isArray(current) ? current.join(', ') : String(current ?? ''),
            'Accept',
          ),
        );
      }
      return payload;
    });
  },

  dispatcher({ streams, plains }, choose, registry, register, path) {
    const [stream, ...extraStreams] = streams;
    const [plain, ...extraPlains] = plains;
    const dispatch = function (
      this: unknown,
      request: FastifyRequestLike,
      reply: FastifyReplyLike,
    ) {
      (reply as unknown as Record<symbol, boolean>)[VARY_ON_ACCEPT] = true;
      switch (choose(request.headers.accept, plain !== undefined)) {
        case 'stream':
          reply[STREAM_CONTEXT_KEY] = fastifyStreamContext(registry, request, reply);
          return stream!.call(this, request, reply);
        case 'plain':
          return plain!.call(this, request, reply);
        case 'not-acceptable':
          // Fastify's error handler, which Nest sets to its global exception filters.
          throw new NotAcceptableException(NOT_ACCEPTABLE_MESSAGE);
      }
    };
    const first = stream ?? plain!;
    (dispatch as { version?: unknown }).version = (first as { version?: unknown }).version;
    for (const key of ROUTE_OPTION_KEYS) {
      const value: unknown = Reflect.getMetadata(key, first);
      if (value !== undefined) Reflect.defineMetadata(key, value, dispatch);
    }
    Object.defineProperty(dispatch, 'name', { value: first.name });
    register(path, dispatch as RouteHandler);
    // Two handlers of one route of Fastify: registered again, so that Fastify refuses them as it
    // would without this module (FST_ERR_DUPLICATED_ROUTE), instead of one silently winning.
    for (const extra of [...extraStreams, ...extraPlains]) register(path, extra);
  },
};

function fastifyStreamContext(
  registry: StreamContext['registry'],
  request: FastifyRequestLike,
  reply: FastifyReplyLike,
): StreamContext {
  const req = request.raw;
  const res = reply.raw;
  // The port's client address reads `req.ip`: Fastify's, which honours `trustProxy`. Assigned,
  // not defined as a getter: defineProperty turns every stream's request into a slow dictionary
  // object (some 1.4 KB more per open stream).
  if (req.ip === undefined) req.ip = request.ip;
  // @Header() values live on the reply until Fastify sends it, which a stream never does.
  const copyHeaders = () => {
    if (res.headersSent) return;
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) res.setHeader(name, value);
    }
    vary(res as ServerResponse, 'Accept');
  };
  return {
    registry,
    req,
    res,
    // What clientKey and StreamInfo.request are given: the FastifyRequest that @Req() gives,
    // with what guards put on it (request.user) and its route (routeOptions.url, http.route).
    request: request as unknown as StreamContext['request'],
    prepare: copyHeaders,
    // The port calls it once, right before it answers on the raw response.
    takeOver() {
      copyHeaders();
      // Fastify's handlerTimeout and its own reply.send() let go of the response from here.
      reply.hijack();
    },
  };
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    typeof inner === 'symbol' ? inner.toString() : inner,
  );
}

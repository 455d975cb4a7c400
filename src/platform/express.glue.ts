import { NotAcceptableException } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StreamRegistry } from '../connection/stream-registry.js';
import onHeaders from 'on-headers';
import { STREAM_CONTEXT_KEY } from '../sse.constants.js';
import {
  NOT_ACCEPTABLE_MESSAGE,
  type RouteGlue,
  type RouteHandler,
  type StreamContext,
} from './route-glue.interface.js';
import { varyOnAccept } from './stream-headers.js';

type Next = (error?: unknown) => void;

/** Where an Express application keeps the registry of the Nest application that owns it. */
const APP_REGISTRY_KEY = Symbol.for('nestjs-event-stream.registry');
/** Per registry, set at start-up: whether its streams find it on the Express app. */
const ownsApp = new WeakMap<StreamRegistry, boolean>();
type ExpressHandler = (req: IncomingMessage, res: ServerResponse, next?: Next) => unknown;

/**
 * Express: routes of one path and method are one route (Nest chains versions and hosts through
 * `next()`), the dispatcher is a `(req, res, next)` handler, and `Vary` is added when the head
 * goes out, after any `@Header()` or middleware set its own.
 */
export const expressGlue: RouteGlue = {
  type: 'express',

  groupKey(method, [path, handler, ...rest]) {
    if (typeof handler !== 'function' || rest.length > 0) return undefined;
    return `${method} ${String(path)}`;
  },

  install(adapter, registry) {
    // The application's registry, found by every stream from its response's `app` (Express's
    // prototype chain): no property is added to a response, which would give each one a shape
    // of its own and copy its properties (some 2 KB per stream, measured). A second Nest
    // application on the same Express instance gives its streams a context each, as before.
    const app = (adapter as { getInstance(): Record<symbol, unknown> }).getInstance();
    const owner = app[APP_REGISTRY_KEY];
    if (owner === undefined) app[APP_REGISTRY_KEY] = registry;
    ownsApp.set(registry, (owner ?? registry) === registry);
  },

  dispatcher({ streams, plains }, choose, registry, register, path) {
    const hasPlain = plains.length > 0;
    // The registry a response must carry: none where its streams find it on the Express app.
    const carried = ownsApp.get(registry) === true ? undefined : registry;
    // No closure is made per request but where a chain needs one to go on with.
    const dispatch: ExpressHandler = (req, res, next) => {
      // `Vary: Accept` now, for a stream's head (set again there, after any @Header('Vary')) and
      // for the errors Nest's filters answer before it. Only a plain handler, which may set its
      // own Vary later, gets it when its headers go out (on-headers): wrapping every response's
      // writeHead gives it an own property, and costs a stream some 15 % of its set-up.
      varyOnAccept(res);
      const accept = req.headers.accept;
      switch (choose(accept, hasPlain)) {
        case 'stream':
          // A version (or host) with no stream of its own falls through to its plain handler.
          return runStreams(
            streams,
            carried,
            req,
            res,
            hasPlain ? chained(() => runPlains(plains, req, res, next), next) : next,
          );
        case 'plain':
          // A version with no plain handler of its own is stream-only.
          return runPlains(
            plains,
            req,
            res,
            chained(() => {
              if (choose(accept, false) === 'stream') {
                return runStreams(streams, carried, req, res, next);
              }
              return next?.(new NotAcceptableException(NOT_ACCEPTABLE_MESSAGE));
            }, next),
          );
        case 'not-acceptable':
          return next?.(new NotAcceptableException(NOT_ACCEPTABLE_MESSAGE));
      }
    };
    register(path, dispatch as RouteHandler);
  },
};

/**
 * The stream handlers of a route. With a registry (one not found from the response's `app`),
 * the response gets the context they serve the stream from.
 */
function runStreams(
  streams: RouteHandler[],
  registry: StreamRegistry | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  next?: Next,
): unknown {
  if (registry !== undefined) {
    const context: StreamContext = { registry, req, res };
    (res as ServerResponse & { [STREAM_CONTEXT_KEY]?: StreamContext })[STREAM_CONTEXT_KEY] =
      context;
  }
  return runChain(streams, 0, req, res, next);
}

/**
 * The context of a stream on Express whose application's registry is on the Express app (see
 * `install`), or `undefined`: the raw request and response are Express's own.
 */
export function appStreamContext(response: unknown): StreamContext | undefined {
  const res = response as ServerResponse & { app?: Record<symbol, unknown> };
  const registry = res.app?.[APP_REGISTRY_KEY] as StreamRegistry | undefined;
  return registry === undefined ? undefined : { registry, req: res.req, res };
}

/** The plain handlers of a route, whose answer gets `Vary: Accept` when its headers go out. */
function runPlains(
  plains: RouteHandler[],
  req: IncomingMessage,
  res: ServerResponse,
  next?: Next,
): unknown {
  onHeaders(res, varyOnAcceptHook);
  return runChain(plains, 0, req, res, next);
}

/** A `next` that goes on with `then` when the chain before it passed, and errors to `next`. */
function chained(then: () => unknown, next?: Next): Next {
  return (error?: unknown) => (error === undefined ? then() : next?.(error));
}

/**
 * Several handlers share a path and method when they differ by version or host; each passes the
 * request on with `next()` when it is not the one.
 */
function runChain(
  handlers: RouteHandler[],
  index: number,
  req: IncomingMessage,
  res: ServerResponse,
  next?: Next,
): unknown {
  const last = index === handlers.length - 1;
  return handlers[index]!(
    req,
    res,
    last
      ? next
      : (error?: unknown) =>
          error === undefined ? runChain(handlers, index + 1, req, res, next) : next?.(error),
  );
}

function varyOnAcceptHook(this: ServerResponse): void {
  varyOnAccept(this);
}

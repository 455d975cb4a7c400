import type { StreamRegistry } from '../connection/stream-registry.js';
import type { StreamRequestInfo } from '../connection/stream-info.interface.js';
import type { HandlerChoice } from '../negotiation/choose-handler.js';
import type { StreamRequestMessage, StreamResponseMessage } from './stream-port.interface.js';

/** A route handler as Nest hands it to the HTTP adapter. */
export type RouteHandler = (...args: unknown[]) => unknown;

/** The handlers of one path, method (and, on Fastify, version and route options). */
export interface RouteGroup {
  streams: RouteHandler[];
  plains: RouteHandler[];
}

/**
 * What the dispatcher leaves on the platform's response object (what `@Res()` injects) for the
 * `@EventStream()` handler it chose: where to serve the stream, and on which raw objects.
 */
export interface StreamContext {
  registry: StreamRegistry;
  /** The raw request and response, which the registry turns into the stream's port. */
  req: StreamRequestMessage;
  res: StreamResponseMessage;
  /** The framework's request, where it is not `req` (Fastify's `FastifyRequest`). */
  request?: StreamRequestInfo;
  /** Called once, right before the library answers on `res` itself (the port calls it). */
  takeOver?: () => void;
  /**
   * Called right before `registry.serve()`: brings what the platform holds for the response
   * (Fastify's `@Header()` values) onto `res`, without committing anything, so that an error
   * still goes to Nest's filters through the platform's reply.
   */
  prepare?: () => void;
}

/** Registers a route with the adapter's own (uncaptured) method. */
export type RegisterRoute = (path: unknown, handler: RouteHandler) => unknown;

/**
 * How one HTTP platform pairs and dispatches routes: what makes two registrations one route,
 * and the handler that stands for a group.
 */
export interface RouteGlue {
  /** The name `httpAdapter.getType()` answers. */
  readonly type: string;
  /**
   * The key of a registration `adapter[method](path, handler)`, two of which are one route of
   * the platform; `undefined` for a registration Nest did not make of one handler.
   */
  groupKey(method: string, args: unknown[]): string | undefined;
  /**
   * Adds what the platform needs once per application (Fastify: the `onSend` hook; Express: the
   * registry on the Express app, where its streams find it).
   */
  install(adapter: unknown, registry: StreamRegistry): void;
  /**
   * Registers the handler that stands for a group. `choose` reads `Accept` (for a group with or
   * without a plain handler); the stream side gets a {@link StreamContext} on the response.
   */
  dispatcher(
    group: RouteGroup,
    choose: (accept: string | undefined, hasPlain: boolean) => HandlerChoice,
    registry: StreamRegistry,
    register: RegisterRoute,
    path: unknown,
  ): void;
}

/** The message of the 406 a stream-only route answers a client that does not accept it. */
export const NOT_ACCEPTABLE_MESSAGE =
  'This endpoint only serves text/event-stream; send "Accept: text/event-stream".';

import { HttpCode, Injectable, NotAcceptableException, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import onHeaders from 'on-headers';
import vary from 'vary';
import { StreamRegistry } from '../connection/stream-registry.js';
import { InvalidStreamRouteError } from '../errors/invalid-stream-route.error.js';
import { EVENT_STREAM_METADATA, STREAM_REGISTRY_KEY } from '../sse.constants.js';
import { chooseHandler, type HandlerChoice } from './choose-handler.js';

type Next = (error?: unknown) => void;
type RouteHandler = (req: IncomingMessage, res: ServerResponse, next?: Next) => unknown;
type RegisterRoute = (path: unknown, ...handlers: unknown[]) => unknown;
type Adapter = Record<string | symbol, unknown>;

const CAPTURING = Symbol.for('nestjs-event-stream.capturing-routes');
const MAX_REMEMBERED_ACCEPTS = 256;

interface Registration {
  method: string;
  args: unknown[];
}

interface RouteGroup {
  streams: RouteHandler[];
  plains: RouteHandler[];
}

// The adapter methods Nest registers routes with (its RequestMethod map).
const ROUTE_METHODS = [
  'get',
  'post',
  'put',
  'delete',
  'patch',
  'all',
  'options',
  'head',
  'search',
  'propfind',
  'proppatch',
  'mkcol',
  'copy',
  'move',
  'lock',
  'unlock',
  'query',
] as const;

// The key @HttpCode() writes, read through its public decorator rather than a deep import.
const HTTP_CODE_KEY: unknown = (() => {
  const probe = { value: () => undefined };
  HttpCode(200)({}, 'probe', probe);
  return Reflect.getMetadataKeys(probe.value)[0];
})();

/**
 * Puts a stream route and a plain route of the same path and method behind one dispatcher that
 * reads `Accept` before anything else runs, so each request reaches exactly one of them and
 * only that one's guards, pipes and interceptors.
 *
 * Nest registers each route with the HTTP adapter as it resolves them, with the global prefix,
 * versions and RouterModule paths already applied. While it does, the dispatcher holds the
 * registrations back ({@link capture}, from `SseModule.configure()`, which Nest calls just
 * before), then registers them in their original order ({@link onModuleInit}, which Nest calls
 * right after), one dispatcher in place of each group that holds a stream route. The adapter
 * thus never sees two routes for one method and path, which Fastify would refuse.
 */
@Injectable()
export class RouteDispatcher implements OnModuleInit {
  private captured?: {
    adapter: Adapter;
    originals: Map<string, RegisterRoute>;
    ownMethods: Set<string>;
    registrations: Registration[];
  };

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly registry: StreamRegistry,
  ) {}

  capture(): void {
    const adapter = this.adapterHost.httpAdapter as unknown as Adapter | undefined;
    // One capture per adapter, even if SseModule is registered twice.
    if (adapter === undefined || this.captured !== undefined || adapter[CAPTURING] === true) {
      return;
    }
    adapter[CAPTURING] = true;
    const originals = new Map<string, RegisterRoute>();
    const ownMethods = new Set<string>();
    const registrations: Registration[] = [];
    for (const method of ROUTE_METHODS) {
      const original = adapter[method];
      if (typeof original !== 'function') continue;
      originals.set(method, original as RegisterRoute);
      if (Object.hasOwn(adapter, method)) ownMethods.add(method);
      adapter[method] = (...args: unknown[]) => {
        registrations.push({ method, args });
      };
    }
    this.captured = { adapter, originals, ownMethods, registrations };
  }

  onModuleInit(): void {
    const captured = this.captured;
    if (captured === undefined) return;
    this.captured = undefined;
    const { adapter, originals, ownMethods, registrations } = captured;
    for (const [method, original] of originals) {
      if (ownMethods.has(method)) adapter[method] = original;
      else delete adapter[method];
    }
    delete adapter[CAPTURING];
    const groups = this.groupStreamRoutes(registrations);
    for (const { method, args } of registrations) {
      const register = (path: unknown, ...handlers: unknown[]) =>
        originals.get(method)!.call(adapter, path, ...handlers);
      const key = routeKey(method, args[0]);
      const group = groups.get(key);
      if (group === undefined) {
        register(...(args as [unknown, ...unknown[]]));
      } else if (groups.delete(key)) {
        // At the place of the group's first route; the group's other routes are in it.
        register(args[0], this.dispatcher(group));
      }
    }
  }

  private groupStreamRoutes(registrations: Registration[]): Map<string, RouteGroup> {
    const byKey = new Map<string, RouteGroup>();
    const withStream = new Set<string>();
    for (const { method, args } of registrations) {
      const [path, handler, ...rest] = args;
      if (typeof handler !== 'function' || rest.length > 0) continue;
      const key = routeKey(method, path);
      const group = byKey.get(key) ?? { streams: [], plains: [] };
      byKey.set(key, group);
      if (Reflect.getMetadata(EVENT_STREAM_METADATA, handler) !== undefined) {
        assertStreamable(handler, method, path);
        group.streams.push(handler as RouteHandler);
        withStream.add(key);
      } else {
        group.plains.push(handler as RouteHandler);
      }
    }
    for (const key of byKey.keys()) {
      if (!withStream.has(key)) byKey.delete(key);
    }
    return byKey;
  }

  private dispatcher({ streams, plains }: RouteGroup): RouteHandler {
    const registry = this.registry;
    const hasPlain = plains.length > 0;
    // Clients send a handful of distinct Accept headers: each is parsed once, not per request.
    const choices = new Map<string | undefined, HandlerChoice>();
    const choose = (accept: string | undefined): HandlerChoice => {
      let choice = choices.get(accept);
      if (choice === undefined) {
        choice = chooseHandler(accept, hasPlain);
        if (choices.size >= MAX_REMEMBERED_ACCEPTS) choices.clear();
        choices.set(accept, choice);
      }
      return choice;
    };
    return (req, res, next) => {
      // When the headers go out, after any @Header() or middleware set its own Vary.
      onHeaders(res, varyOnAccept);
      switch (choose(req.headers.accept)) {
        case 'stream':
          (req as IncomingMessage & { [STREAM_REGISTRY_KEY]?: StreamRegistry })[
            STREAM_REGISTRY_KEY
          ] = registry;
          return runChain(streams, 0, req, res, next);
        case 'plain':
          return runChain(plains, 0, req, res, next);
        case 'not-acceptable':
          return next?.(
            new NotAcceptableException(
              'This endpoint only serves text/event-stream; send "Accept: text/event-stream".',
            ),
          );
      }
    };
  }
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

function varyOnAccept(this: ServerResponse): void {
  vary(this, 'Accept');
}

function routeKey(method: string, path: unknown): string {
  return `${method} ${String(path)}`;
}

function assertStreamable(handler: Function, method: string, path: unknown): void {
  const status = Reflect.getMetadata(HTTP_CODE_KEY, handler) as number | undefined;
  if (status !== undefined && status !== 200) {
    throw new InvalidStreamRouteError(
      `${handler.name} (${method.toUpperCase()} ${String(path)})`,
      `@HttpCode(${status}) cannot apply: a stream is always answered 200, as a browser's ` +
        'EventSource gives up on any other status. Remove @HttpCode(), or return noContent() to answer 204.',
    );
  }
}

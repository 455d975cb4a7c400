import { HttpCode, Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, HttpAdapterHost, MetadataScanner } from '@nestjs/core';
import { StreamRegistry } from '../connection/stream-registry.js';
import { InvalidStreamRouteError } from '../errors/invalid-stream-route.error.js';
import type {
  RegisterRoute,
  RouteGlue,
  RouteGroup,
  RouteHandler,
} from '../platform/route-glue.interface.js';
import { routeGlueFor } from '../platform/route-glue.js';
import { EVENT_STREAM_METADATA } from '../sse.constants.js';
import type { EventStreamOptions } from '../sse.options.js';
import { chooseHandler, type HandlerChoice } from './choose-handler.js';

type AdapterMethod = (...args: unknown[]) => unknown;
type Adapter = Record<string | symbol, unknown> & { getType?: () => string };

const CAPTURING = Symbol.for('nestjs-event-stream.capturing-routes');
const MAX_REMEMBERED_ACCEPTS = 256;
// Longer headers are parsed every time (within the Accept cap), not kept.
const MAX_REMEMBERED_ACCEPT_LENGTH = 256;

interface Registration {
  method: string;
  args: unknown[];
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
 * thus sees one route per method, path (and on Fastify, constraints), never two. How routes
 * group and dispatch is the platform's (`src/platform/*.glue.ts`).
 */
@Injectable()
export class RouteDispatcher implements OnModuleInit {
  private captured?: {
    adapter: Adapter;
    originals: Map<string, AdapterMethod>;
    ownMethods: Set<string>;
    registrations: Registration[];
  };

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly registry: StreamRegistry,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  capture(): void {
    const adapter = this.adapterHost.httpAdapter as unknown as Adapter | undefined;
    // One capture per adapter, even if SseModule is registered twice.
    if (adapter === undefined || this.captured !== undefined || adapter[CAPTURING] === true) {
      return;
    }
    adapter[CAPTURING] = true;
    const originals = new Map<string, AdapterMethod>();
    const ownMethods = new Set<string>();
    const registrations: Registration[] = [];
    for (const method of ROUTE_METHODS) {
      const original = adapter[method];
      if (typeof original !== 'function') continue;
      originals.set(method, original as AdapterMethod);
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
    try {
      this.registerAll(adapter, originals, registrations);
    } finally {
      for (const [method, original] of originals) {
        if (ownMethods.has(method)) adapter[method] = original;
        else delete adapter[method];
      }
      delete adapter[CAPTURING];
    }
  }

  private registerAll(
    adapter: Adapter,
    originals: Map<string, AdapterMethod>,
    registrations: Registration[],
  ): void {
    const streamRoutes = registrations.filter(({ args }) => isStreamHandler(args[1]));
    this.assertNoneMissed(streamRoutes);
    const glue = streamRoutes.length > 0 ? routeGlueFor(adapter) : undefined;
    const groups = glue === undefined ? new Map() : groupStreamRoutes(glue, registrations);
    if (glue !== undefined && groups.size > 0) glue.install(adapter, this.registry);
    const registered = new Set<RouteGroup>();
    for (const { method, args } of registrations) {
      const original = originals.get(method)!;
      const group = glue === undefined ? undefined : groups.get(glue.groupKey(method, args)!);
      if (group === undefined) {
        original.apply(adapter, args);
      } else if (!registered.has(group)) {
        // At the place of the group's first route; the group's other routes are in it.
        registered.add(group);
        const register: RegisterRoute = (path, handler) => original.call(adapter, path, handler);
        glue!.dispatcher(group, this.chooser(), this.registry, register, args[0]);
      }
    }
  }

  /**
   * Every `@EventStream()` method of every controller must have reached the capture: a route
   * registered some other way (a Nest version that registers routes differently) would answer
   * without negotiation, so start-up fails instead.
   */
  private assertNoneMissed(streamRoutes: Registration[]): void {
    const seen = new Set<unknown>(
      streamRoutes.map(({ args }) => Reflect.getMetadata(EVENT_STREAM_METADATA, args[1] as object)),
    );
    for (const wrapper of this.discovery.getControllers()) {
      // The class, not an instance: request-scoped controllers have none yet.
      const prototype = (wrapper.metatype as { prototype?: Record<string, unknown> } | null)
        ?.prototype;
      if (prototype === undefined) continue;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const method = prototype[name];
        if (typeof method !== 'function') continue;
        const route = Reflect.getMetadata(EVENT_STREAM_METADATA, method) as
          EventStreamOptions | undefined;
        if (route !== undefined && !seen.has(route)) {
          throw new InvalidStreamRouteError(
            `${prototype.constructor.name}.${name}`,
            'its route reached the HTTP adapter without passing through SseModule, so it would ' +
              'answer without content negotiation. This happens when Nest registers routes in a way ' +
              'this version of nestjs-event-stream does not know: update nestjs-event-stream.',
          );
        }
      }
    }
  }

  private chooser(): (accept: string | undefined, hasPlain: boolean) => HandlerChoice {
    // Clients send a handful of distinct Accept headers: each is parsed once, not per request.
    const remembered = [
      new Map<string | undefined, HandlerChoice>(),
      new Map<string | undefined, HandlerChoice>(),
    ] as const;
    return (accept, hasPlain) => {
      const choices = remembered[hasPlain ? 1 : 0];
      let choice = choices.get(accept);
      if (choice === undefined) {
        choice = chooseHandler(accept, hasPlain);
        if (accept === undefined || accept.length <= MAX_REMEMBERED_ACCEPT_LENGTH) {
          if (choices.size >= MAX_REMEMBERED_ACCEPTS) choices.clear();
          choices.set(accept, choice);
        }
      }
      return choice;
    };
  }
}

function isStreamHandler(handler: unknown): handler is RouteHandler {
  return (
    typeof handler === 'function' &&
    Reflect.getMetadata(EVENT_STREAM_METADATA, handler) !== undefined
  );
}

/** The groups of registrations that hold a stream route, by the platform's key. */
function groupStreamRoutes(
  glue: RouteGlue,
  registrations: Registration[],
): Map<string, RouteGroup> {
  const byKey = new Map<string, RouteGroup>();
  const withStream = new Set<string>();
  for (const { method, args } of registrations) {
    const key = glue.groupKey(method, args);
    if (key === undefined) continue;
    const handler = args[1] as RouteHandler;
    const group = byKey.get(key) ?? { streams: [], plains: [] };
    byKey.set(key, group);
    if (isStreamHandler(handler)) {
      assertStreamable(handler, method, args[0]);
      group.streams.push(handler);
      withStream.add(key);
    } else {
      group.plains.push(handler);
    }
  }
  for (const key of byKey.keys()) {
    if (!withStream.has(key)) byKey.delete(key);
  }
  return byKey;
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

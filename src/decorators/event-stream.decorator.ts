import {
  applyDecorators,
  Next,
  RequestMapping,
  RequestMethod,
  Res,
  SetMetadata,
  UseFilters,
} from '@nestjs/common';
import { InvalidStreamRouteError } from '../errors/invalid-stream-route.error.js';
import { SseModuleMissingError } from '../errors/sse-module-missing.error.js';
import { streamContextOf } from '../platform/route-glue.js';
import { EVENT_STREAM_METADATA } from '../sse.constants.js';
import { type EventStreamOptions, validateRouteOptions } from '../sse.options.js';
import { sseModuleCheck } from './sse-module-check.filter.js';

type Handler = (...args: unknown[]) => unknown;

/**
 * Declares the Server-Sent Events side of a route. The method returns an `Observable` of events
 * (or a promise of one, or `noContent()`); the module writes it as `text/event-stream`, and
 * unsubscribes the moment the client goes away.
 *
 * A plain handler of the same path and method (`@Get()`) keeps answering every request that
 * does not prefer `text/event-stream`; each handler runs only its own guards, pipes and
 * interceptors. Interceptors see the stream open (one `undefined` value), not its events.
 *
 * The options are checked here, where the route is declared (an `InvalidOptionError` names a
 * wrong one). The response belongs to the module: a method that declares `@Res()` or `@Next()`
 * is refused with an `InvalidStreamRouteError`, as is one whose parameters cannot be counted
 * (a build without decorator metadata where a decorated parameter follows one with a default).
 *
 * @example
 * ```ts
 * @Controller()
 * export class HelloController {
 *   @Get() ok() { return 'ok'; }
 *
 *   @EventStream()
 *   hello(): Observable<MessageEvent> {
 *     return interval(2000).pipe(map(() => ({ type: 'message', data: 'hello', id: '1' })));
 *   }
 * }
 * ```
 */
export function EventStream(
  path?: string | string[],
  options: EventStreamOptions = {},
): MethodDecorator {
  return (target, key, descriptor) => {
    const name = `${target.constructor.name}.${String(key)}`;
    validateRouteOptions(options, name);
    const route: EventStreamOptions = { ...options, method: options.method ?? RequestMethod.GET };
    // The response arrives through a parameter of our own, past the method's declared ones, so
    // Nest leaves the response to us: it would otherwise wait for the Observable to complete.
    const responseIndex = hiddenResponseIndex(target, key, descriptor.value as Handler, name);
    return applyDecorators(
      takeOverResponse(responseIndex, route),
      RequestMapping({ path, method: route.method }),
      SetMetadata(EVENT_STREAM_METADATA, route),
      UseFilters(sseModuleCheck(name)),
      (proto: object, method: string | symbol) => Res()(proto, method, responseIndex),
    )(target, key, descriptor);
  };
}

function takeOverResponse(responseIndex: number, route: EventStreamOptions): MethodDecorator {
  return (target, key, descriptor) => {
    const original = descriptor.value as Handler;
    const handler = `${target.constructor.name}.${String(key)}`;
    const streamHandler = function (this: unknown, ...args: unknown[]) {
      const context = streamContextOf(args[responseIndex] as object);
      if (context === undefined) {
        throw new SseModuleMissingError(handler);
      }
      const { registry, req, res, request, takeOver, prepare } = context;
      prepare?.();
      // The registry calls takeOver right before it writes on the raw response itself.
      return registry.serve({
        handler,
        route,
        req,
        res,
        request,
        takeOver,
        invoke: () => {
          // The rest array is this call's own: the method gets it without the hidden response.
          args.length = responseIndex;
          return original.apply(this, args);
        },
      });
    };
    Object.defineProperty(streamHandler, 'name', { value: original.name });
    // Decorators listed below @EventStream() have already put their metadata on the original.
    for (const metadataKey of Reflect.getMetadataKeys(original)) {
      Reflect.defineMetadata(
        metadataKey,
        Reflect.getMetadata(metadataKey, original),
        streamHandler,
      );
    }
    (descriptor as unknown as TypedPropertyDescriptor<Handler>).value = streamHandler;
    return descriptor;
  };
}

/**
 * Where the hidden `@Res()` goes: past every declared parameter. Without `design:paramtypes`
 * (esbuild, tsx), `method.length` stops at the first parameter with a default; a decorated
 * parameter at or past that place would receive the response, so the route is refused.
 */
function hiddenResponseIndex(
  target: object,
  key: string | symbol,
  method: Handler,
  name: string,
): number {
  const paramtypes = Reflect.getMetadata('design:paramtypes', target, key) as unknown[] | undefined;
  const index = Math.max(paramtypes?.length ?? 0, method.length);
  for (const [argKey, arg] of Object.entries(routeArgs(target, key))) {
    const paramtype = argKey.slice(0, argKey.lastIndexOf(':'));
    if (paramtype === RESPONSE_PARAMTYPE || paramtype === NEXT_PARAMTYPE) {
      throw new InvalidStreamRouteError(
        name,
        `parameter #${arg.index} is @${paramtype === RESPONSE_PARAMTYPE ? 'Res' : 'Next'}(), but ` +
          'the module writes the response of a stream itself. Remove it; use @EventStreamSignal() ' +
          'to learn when the client leaves, @Header() to set headers.',
      );
    }
    if (arg.index >= index) {
      throw new InvalidStreamRouteError(
        name,
        `parameter #${arg.index} is decorated, but the method appears to declare only ${index} ` +
          'parameter(s): the build has no decorator metadata (esbuild, tsx, swc without ' +
          '`decoratorMetadata`) and a parameter before it has a default value. Enable ' +
          'emitDecoratorMetadata, or drop the default value.',
      );
    }
  }
  return index;
}

interface RouteArg {
  index: number;
}

function routeArgs(target: object, key: string | symbol): Record<string, RouteArg> {
  return (Reflect.getMetadata(ROUTE_ARGS_KEY, target.constructor, key) ?? {}) as Record<
    string,
    RouteArg
  >;
}

// The metadata key and paramtypes Nest's @Res() and @Next() write, read through the public
// decorators rather than a deep import.
const [ROUTE_ARGS_KEY, RESPONSE_PARAMTYPE, NEXT_PARAMTYPE] = (() => {
  class Probe {
    method(): void {}
  }
  Res()(Probe.prototype, 'method', 0);
  Next()(Probe.prototype, 'method', 1);
  const metadataKey: unknown = Reflect.getMetadataKeys(Probe, 'method')[0];
  const entries = Object.entries(
    Reflect.getMetadata(metadataKey, Probe, 'method') as Record<string, RouteArg>,
  );
  const paramtypeAt = (index: number) => {
    const entry = entries.find(([, arg]) => arg.index === index)![0];
    return entry.slice(0, entry.lastIndexOf(':'));
  };
  return [metadataKey, paramtypeAt(0), paramtypeAt(1)] as const;
})();

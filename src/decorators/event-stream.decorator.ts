import { applyDecorators, RequestMapping, RequestMethod, Res, SetMetadata } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StreamRegistry } from '../connection/stream-registry.js';
import { SseModuleMissingError } from '../errors/sse-module-missing.error.js';
import { EVENT_STREAM_METADATA, STREAM_REGISTRY_KEY } from '../sse.constants.js';
import type { EventStreamOptions } from '../sse.options.js';

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
  const route: EventStreamOptions = { ...options, method: options.method ?? RequestMethod.GET };
  return (target, key, descriptor) => {
    // The response arrives through a parameter of our own, past the method's declared ones, so
    // Nest leaves the response to us: it would otherwise wait for the Observable to complete.
    const responseIndex = declaredParameterCount(target, key, descriptor.value as Handler);
    return applyDecorators(
      takeOverResponse(responseIndex, route),
      RequestMapping({ path, method: route.method }),
      SetMetadata(EVENT_STREAM_METADATA, route),
      (proto: object, name: string | symbol) => Res()(proto, name, responseIndex),
    )(target, key, descriptor);
  };
}

function takeOverResponse(responseIndex: number, route: EventStreamOptions): MethodDecorator {
  return (target, key, descriptor) => {
    const original = descriptor.value as Handler;
    const handler = `${target.constructor.name}.${String(key)}`;
    const streamHandler = function (this: unknown, ...args: unknown[]) {
      const res = args[responseIndex] as ServerResponse & { req: IncomingMessage };
      const req = res.req as IncomingMessage & { [STREAM_REGISTRY_KEY]?: StreamRegistry };
      const registry = req[STREAM_REGISTRY_KEY];
      if (registry === undefined) {
        throw new SseModuleMissingError(handler);
      }
      return registry.serve({
        handler,
        route,
        req,
        res,
        invoke: () => original.apply(this, args.slice(0, responseIndex)),
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

function declaredParameterCount(target: object, key: string | symbol, method: Handler): number {
  const paramtypes = Reflect.getMetadata('design:paramtypes', target, key) as unknown[] | undefined;
  return Math.max(paramtypes?.length ?? 0, method.length);
}

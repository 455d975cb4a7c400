import { ApiExcludeEndpoint, ApiExtraModels, DECORATORS } from '@nestjs/swagger';
import { EVENT_STREAM_MEDIA_TYPE } from '../sse.constants.js';
import type { ApiEventStreamOptions } from './api-event-stream-options.interface.js';
import { eventStreamMediaType } from './event-stream-media-type.js';
import { plainStatusOf, plainTwinOf } from './route-twins.js';
import { type Responses, withEventStreamResponse } from './stream-responses.js';

type Handler = (...args: unknown[]) => unknown;

const DEFAULT_DESCRIPTION = 'A stream of Server-Sent Events (text/event-stream).';
const NOT_ACCEPTABLE = {
  description: `The request does not accept ${EVENT_STREAM_MEDIA_TYPE}, the only media type of this route.`,
};

/**
 * Documents an `@EventStream()` handler for `@nestjs/swagger` (import it from
 * `nestjs-event-stream/openapi`), above or below `@EventStream()`.
 *
 * - A stream-only route gets a 200 `text/event-stream` response and a 406 (what it answers a
 *   request that does not accept a stream).
 * - A route with a plain handler too is one OpenAPI operation (one per path and method): the plain
 *   handler's, with `text/event-stream` added to its 200 response beside its own media types,
 *   its summary, parameters and other responses kept. The stream handler itself is left out of
 *   the document, so put the operation's docs (`@ApiOperation()`, `@ApiQuery()`, ...) on the
 *   plain handler.
 *
 * Describing the events (`type`, `schema`, `events`) writes OpenAPI 3.2's `itemSchema`: build
 * the document with `new DocumentBuilder().setOpenAPIVersion('3.2.0')`.
 *
 * @example
 * ```ts
 * @Controller('articles')
 * export class ArticlesController {
 *   @Get()
 *   @ApiOkResponse({ type: Article, isArray: true })
 *   list(): Article[] { ... }
 *
 *   @EventStream()
 *   @ApiEventStream({ type: Article, events: { deleted: { schema: { type: 'string' } } } })
 *   changes(): Observable<SseEvent> { ... }
 * }
 * ```
 */
export function ApiEventStream(options: ApiEventStreamOptions = {}): MethodDecorator {
  return (target, key) => {
    // Deferred until the class is whole: the plain twin may be declared after this handler, and
    // @EventStream() (which replaces the method) may sit above this decorator. Documents are
    // built long after, once the application exists.
    queueMicrotask(() => documentEventStream(target, key, options));
  };
}

function documentEventStream(
  prototype: object,
  key: string | symbol,
  options: ApiEventStreamOptions,
): void {
  const methods = prototype as Record<string | symbol, Handler>;
  const { media, models } = eventStreamMediaType(options);
  const description = options.description ?? DEFAULT_DESCRIPTION;
  const twin = plainTwinOf(prototype, key);
  if (twin === undefined) {
    const stream = methods[key]!;
    const responses = withEventStreamResponse(
      responsesOf(stream) ?? {},
      declaredProduces(prototype, stream) ?? [],
      media,
      description,
      models,
    );
    responses['406'] ??= NOT_ACCEPTABLE;
    document(stream, responses, models);
    return;
  }
  ApiExcludeEndpoint()(prototype, key, { value: methods[key] });
  const plain = methods[twin]!;
  const responses = withEventStreamResponse(
    responsesOf(plain) ?? { [plainStatusOf(plain)]: { description: '' } },
    declaredProduces(prototype, plain) ?? ['application/json'],
    media,
    description,
    models,
  );
  document(plain, responses, models);
}

function responsesOf(handler: Handler): Responses | undefined {
  return Reflect.getMetadata(DECORATORS.API_RESPONSE, handler) as Responses | undefined;
}

/** `@ApiProduces()` of the controller and of the handler, as Swagger merges them. */
function declaredProduces(prototype: object, handler: Handler): string[] | undefined {
  const produces = [
    ...((Reflect.getMetadata(DECORATORS.API_PRODUCES, prototype.constructor) as string[]) ?? []),
    ...((Reflect.getMetadata(DECORATORS.API_PRODUCES, handler) as string[]) ?? []),
  ];
  return produces.length === 0 ? undefined : [...new Set(produces)];
}

function document(handler: Handler, responses: Responses, models: Function[]): void {
  // The whole map is written: ApiResponse() would merge the entry with its `type`, which
  // Swagger would then turn into content for every produced media type again.
  Reflect.defineMetadata(DECORATORS.API_RESPONSE, responses, handler);
  if (models.length > 0) ApiExtraModels(...models)({}, 'handler', { value: handler });
}

import { EVENT_STREAM_MEDIA_TYPE } from '../sse.constants.js';
import type { EventStreamMediaType } from './event-stream-media-type.js';
import { schemaOfType } from './type-schema.js';

/** What `@ApiResponse()` stores per status (its options, less `status`). */
export type ResponseEntry = Record<string, unknown> & {
  description?: string;
  content?: Record<string, unknown>;
};
export type Responses = Record<string, ResponseEntry>;

/** The status of a stream's head: a stream is always answered 200. */
export const STREAM_STATUS = '200';

// Keys of a typed response that Swagger turns into `content`; here they go into it by hand.
const CONTENT_KEYS = ['type', 'isArray', 'nullable', 'schema', 'example', 'examples'];

/**
 * `responses` with the event stream added to the 200 response: a new response if there was
 * none, else a second media type beside the ones the handler already documents (`produces`),
 * which keep their schema. Classes the new content refers to are added to `models`.
 */
export function withEventStreamResponse(
  responses: Responses,
  produces: readonly string[],
  media: EventStreamMediaType,
  description: string,
  models: Function[],
): Responses {
  const existing = responses[STREAM_STATUS];
  if (existing === undefined) {
    return {
      ...responses,
      [STREAM_STATUS]: { description, content: { [EVENT_STREAM_MEDIA_TYPE]: media } },
    };
  }
  // Swagger converts a Standard Schema only itself, and would then overwrite any content: the
  // plain documentation is kept whole rather than half-converted.
  if (existing.standardSchema !== undefined) return responses;
  const explicit = withExplicitContent(existing, produces, models);
  return {
    ...responses,
    [STREAM_STATUS]: {
      ...explicit,
      description: [explicit.description, description].filter(Boolean).join('\n\n'),
      content: { ...explicit.content, [EVENT_STREAM_MEDIA_TYPE]: media },
    },
  };
}

/**
 * The response with its `type`/`schema`/examples written out as `content` for each produced
 * media type, as Swagger would write them. With `content` set and none of those keys left,
 * Swagger takes the response as it is, so each media type keeps a schema of its own.
 */
function withExplicitContent(
  entry: ResponseEntry,
  produces: readonly string[],
  models: Function[],
): ResponseEntry {
  if (entry.content !== undefined) return entry;
  const { type, isArray, nullable, schema: given, example, examples } = entry;
  const schema =
    given ??
    (type === undefined
      ? undefined
      : schemaOfType(
          type as Function | string,
          { isArray: isArray === true, nullable: nullable === true },
          models,
        ));
  const media = Object.fromEntries(
    Object.entries({ schema, example, examples }).filter(([, value]) => value !== undefined),
  );
  const rest = Object.fromEntries(Object.entries(entry).filter(([k]) => !CONTENT_KEYS.includes(k)));
  return {
    ...rest,
    content: Object.fromEntries(produces.map((mediaType) => [mediaType, media])),
  };
}

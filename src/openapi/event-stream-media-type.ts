import type { ReferenceObject, SchemaObject } from '@nestjs/swagger';
import type { ApiEventData, ApiEventStreamOptions } from './api-event-stream-options.interface.js';
import { schemaOfType } from './type-schema.js';

/** A media type object, with OpenAPI 3.2's `itemSchema` the typings of @nestjs/swagger lack. */
export interface EventStreamMediaType {
  schema: SchemaObject;
  itemSchema?: SchemaObject;
}

/** The `text/event-stream` media type object of a stream, and the classes it refers to. */
export function eventStreamMediaType(options: ApiEventStreamOptions): {
  media: EventStreamMediaType;
  models: Function[];
} {
  const models: Function[] = [];
  const items: SchemaObject[] = [];
  if (options.type !== undefined || options.schema !== undefined) {
    // The options' own description is the response's, not the unnamed events'.
    items.push(eventSchema(undefined, { type: options.type, schema: options.schema }, models));
  }
  for (const [name, data] of Object.entries(options.events ?? {})) {
    items.push(eventSchema(name, data, models));
  }
  // The body as a whole is text; what each event holds is OpenAPI 3.2's `itemSchema`.
  const media: EventStreamMediaType = { schema: { type: 'string' } };
  if (items.length > 0) media.itemSchema = items.length === 1 ? items[0] : { oneOf: items };
  return { media, models };
}

/**
 * One kind of event, as the OpenAPI 3.2 specification describes a `text/event-stream` item:
 * an object of the fields a client's parser yields, `data` being the JSON text of the payload.
 */
function eventSchema(
  name: string | undefined,
  data: ApiEventData,
  models: Function[],
): SchemaObject {
  const payload = dataSchema(data, models);
  const isText = payload !== undefined && 'type' in payload && payload.type === 'string';
  return {
    type: 'object',
    ...(data.description === undefined ? {} : { description: data.description }),
    required: name === undefined ? ['data'] : ['event', 'data'],
    properties: {
      // An event without an `event:` field is a `message` to the client.
      event: { type: 'string', enum: [name ?? 'message'] },
      data:
        payload === undefined || isText
          ? (payload ?? { type: 'string' })
          : ({
              type: 'string',
              contentMediaType: 'application/json',
              contentSchema: payload,
            } as SchemaObject),
      id: { type: 'string' },
      retry: { type: 'integer', minimum: 0 },
    },
  };
}

function dataSchema(
  data: ApiEventData,
  models: Function[],
): SchemaObject | ReferenceObject | undefined {
  if (data.schema !== undefined) return data.schema;
  return data.type === undefined ? undefined : schemaOfType(data.type, {}, models);
}

import type { Type } from '@nestjs/common';
import type { ReferenceObject, SchemaObject } from '@nestjs/swagger';

/**
 * The `data` of one kind of event: a class (documented as a schema of its own, as
 * `@ApiOkResponse({ type })` does) or a schema object. Either way the data is JSON, as the hub and
 * an Observable of objects send it.
 */
export interface ApiEventData {
  /** A class documented with `@ApiProperty()` (or the CLI plugin). */
  type?: Type<unknown>;
  /** A schema, when there is no class (`{ type: 'string' }` for text data). */
  schema?: SchemaObject | ReferenceObject;
  /** What this kind of event means. */
  description?: string;
}

/** How `@ApiEventStream()` documents a stream. */
export interface ApiEventStreamOptions extends ApiEventData {
  /**
   * The description of the `text/event-stream` response. On a route with a plain handler too, it
   * is added to the plain response's description of the same status, if there is one.
   * @default 'A stream of Server-Sent Events (text/event-stream).'
   */
  description?: string;
  /**
   * Named events (the `event:` field), by name, each with its data. Unnamed events
   * (`message`) are described by `type`/`schema` of the options themselves.
   * @default {} (only unnamed events, described by `type`/`schema` if given)
   */
  events?: Readonly<Record<string, ApiEventData>>;
}

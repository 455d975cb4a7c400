import { SseError } from './sse.error.js';

/**
 * A field of an event cannot be written without changing what a client parses: an `id` or an
 * event name with a line break would start a new field, an `id` with NUL is ignored by browsers,
 * a `retry` that is not a non-negative integer is ignored too, and a `comment` must be a string.
 *
 * @example
 * ```ts
 * try { serializeEvent({ id: 'a\nb', data: 'x' }); }
 * catch (e) { if (e instanceof InvalidEventFieldError) console.log(e.field); } // 'id'
 * ```
 */
export class InvalidEventFieldError extends SseError {
  readonly code = 'SSE_INVALID_EVENT_FIELD';

  constructor(
    readonly field: 'id' | 'type' | 'retry' | 'comment',
    reason: string,
  ) {
    super(`Invalid event field "${field}": ${reason}. Fix the producer of this event.`);
  }
}

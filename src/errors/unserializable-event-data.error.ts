import { SseError } from './sse.error.js';

/**
 * The `data` of an event is neither a string nor a value `JSON.stringify` can turn into text
 * (a `BigInt`, a cycle, a function, `undefined` inside a `toJSON()` ...).
 *
 * @example
 * ```ts
 * serializeEvent({ data: 10n }); // throws UnserializableEventDataError (code SSE_UNSERIALIZABLE_DATA)
 * ```
 */
export class UnserializableEventDataError extends SseError {
  readonly code = 'SSE_UNSERIALIZABLE_DATA';

  constructor(reason: string, cause?: unknown) {
    super(
      `Event data does not serialize: ${reason}. Send a string, or a value JSON.stringify accepts.`,
      { cause },
    );
  }
}

import { SseError } from './sse.error.js';

/**
 * An `@EventStream()` handler returned something that is not a stream of events.
 *
 * @example
 * ```ts
 * // return of(...)        works
 * // return [{ data: 1 }]  throws InvalidStreamSourceError: return from([...]) instead
 * ```
 */
export class InvalidStreamSourceError extends SseError {
  readonly code = 'SSE_INVALID_STREAM_SOURCE';

  constructor(handler: string, received: string) {
    super(
      `${handler} returned ${received}; an @EventStream() handler returns an Observable of events ` +
        `(or noContent() to answer 204).`,
    );
  }
}

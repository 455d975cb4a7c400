import { SseError } from './sse.error.js';

/**
 * A stream's source emitted a value that is not an event a client can receive: not an object
 * (`undefined`, `null`, a number, a string, an array, a function), or an event with nothing to
 * send (no `data`, `id`, `retry` or `comment`: `{}`, `{ data: undefined }`, `{ type: 'ping' }`).
 * The stream ends with its `errorEvent` (it never takes the process down); emitted before the
 * stream opened, it goes to Nest's exception filters like any other error of the source.
 *
 * @example
 * ```ts
 * // return interval(1000).pipe(map(() => cache.get('x')));         undefined ends the stream
 * // return interval(1000).pipe(map(() => cache.get('x')), filter(Boolean), map((data) => ({ data })));
 * ```
 */
export class InvalidStreamEventError extends SseError {
  readonly code = 'SSE_INVALID_EVENT';

  constructor(reason: string) {
    super(
      `Invalid event: ${reason}. Emit objects such as { data: ... } (a comment alone keeps a ` +
        'connection busy), and filter out the values that are not events before they reach the stream.',
    );
  }
}

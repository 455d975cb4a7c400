/** Metadata key under which `@EventStream()` stores a route's options. */
export const EVENT_STREAM_METADATA = 'nestjs-event-stream:route';

/**
 * Where the route dispatcher leaves the stream context (registry, raw request and response) on
 * the response object it hands to an `@EventStream()` handler. `Symbol.for`, so that two
 * copies of the package still agree.
 */
export const STREAM_CONTEXT_KEY = Symbol.for('nestjs-event-stream.stream-context');

/** The media type of a stream. */
export const EVENT_STREAM_MEDIA_TYPE = 'text/event-stream';

/** Metadata key under which `@EventStream()` stores a route's options. */
export const EVENT_STREAM_METADATA = 'nestjs-event-stream:route';

/**
 * Where the route dispatcher leaves the stream registry on a request it hands to an
 * `@EventStream()` handler. `Symbol.for`, so that two copies of the package still agree.
 */
export const STREAM_REGISTRY_KEY = Symbol.for('nestjs-event-stream.registry');

/** The media type of a stream. */
export const EVENT_STREAM_MEDIA_TYPE = 'text/event-stream';

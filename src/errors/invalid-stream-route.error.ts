import { SseError } from './sse.error.js';

/**
 * An `@EventStream()` route is declared in a way that cannot work; thrown while the application
 * starts, so `app.init()` rejects instead of a client failing later.
 *
 * @example
 * ```ts
 * // @HttpCode(201) @EventStream() -> app.init() rejects with InvalidStreamRouteError
 * ```
 */
export class InvalidStreamRouteError extends SseError {
  readonly code = 'SSE_INVALID_STREAM_ROUTE';

  constructor(route: string, reason: string) {
    super(`@EventStream() ${route}: ${reason}`);
  }
}

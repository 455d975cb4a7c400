import { SseError } from './sse.error.js';

/**
 * The `clientKey` option returned something other than a string or `undefined`: a number would
 * be counted apart from the same id as a string, and an object made per request would never
 * match another, so `maxConnectionsPerClient` would silently limit no one.
 *
 * @example
 * ```ts
 * // clientKey: (req) => req.user?.id            a number id: throws InvalidClientKeyError
 * // clientKey: (req) => req.user && String(req.user.id)   works
 * ```
 */
export class InvalidClientKeyError extends SseError {
  readonly code = 'SSE_INVALID_CLIENT_KEY';

  constructor(received: string) {
    super(`clientKey returned ${received}; it must return a string, or undefined for no key.`);
  }
}

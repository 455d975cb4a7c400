import { SseError } from './sse.error.js';

/**
 * The broker (Redis) cannot be reached, at start-up or for a publish; nothing was stored.
 *
 * @example
 * ```ts
 * try { await hub.publish('news', item); }
 * catch (e) { if (e instanceof BrokerUnavailableError) queueForLater(item); }
 * ```
 */
export class BrokerUnavailableError extends SseError {
  readonly code = 'SSE_BROKER_UNAVAILABLE';

  constructor(message: string, cause?: unknown) {
    super(message, { cause });
  }
}

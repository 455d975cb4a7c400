import { SseError } from './sse.error.js';

/**
 * A hub channel name is empty, too long, or holds a control character.
 *
 * @example
 * ```ts
 * await hub.publish('', 'x'); // rejects with InvalidChannelError
 * ```
 */
export class InvalidChannelError extends SseError {
  readonly code = 'SSE_INVALID_CHANNEL';

  constructor(reason: string) {
    super(`Invalid hub channel: ${reason}. Use a short name such as 'news' or 'user:42'.`);
  }
}

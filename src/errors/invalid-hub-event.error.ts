import { SseError } from './sse.error.js';

/**
 * What was given to `SseHub.publish()` is not a hub event: an object with `data` and no key but
 * `data`, `type`, `retry` and `comment` (or a string, sent as the data). The hub refuses to
 * guess: `{ type: 'news', title: 'x' }` is a misspelt event, not data. Publish a value of any
 * other shape with `publishData()`.
 *
 * @example
 * ```ts
 * await hub.publish('news', { type: 'news', title: 'x' });         // rejects: unknown key "title"
 * await hub.publish('news', { type: 'news', data: { title: 'x' } }); // an event
 * await hub.publishData('news', { title: 'x' }, { type: 'news' });   // the same event
 * ```
 */
export class InvalidHubEventError extends SseError {
  readonly code = 'SSE_INVALID_HUB_EVENT';

  constructor(channel: string, problem: string) {
    super(
      `What was published to "${channel}" is not a hub event: ${problem}. Publish ` +
        '{ data, type?, retry?, comment? }, or use publishData(channel, value) to send any value as data.',
    );
  }
}

import { sentEvent } from '../wire/sent-event.js';
import type { SseEvent } from '../wire/sse-event.interface.js';

/**
 * A copy of a published event that nothing outside the hub holds, and its frame (without an
 * id), from one serialization: the copy holds exactly what the frame sends (non-string `data`
 * as the JSON its frame carries), which is what every client receives anyway (and what a Redis
 * broker stores), so a replay from memory and one from Redis hand a `filter` the same values.
 *
 * @example
 * ```ts
 * const { event, serialized } = ownedEvent({ type: 'x', data: { n: 1 } });
 * // serialized: 'event: x\ndata: {"n":1}\n\n'; event.data is a new { n: 1 }
 * ```
 */
export function ownedEvent(event: SseEvent): { event: SseEvent; serialized: string } {
  return sentEvent(event);
}

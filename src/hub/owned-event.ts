import { serializeEvent } from '../wire/frame.js';
import type { SseEvent } from '../wire/sse-event.interface.js';

/**
 * A copy of a published event that nothing outside the hub holds, and its frame (without an
 * id), from one serialization: non-string `data` is copied as the JSON its frame carries,
 * which is what every client receives anyway (and what a Redis broker stores), so a replay
 * from memory and one from Redis hand a `filter` the same values.
 *
 * @example
 * ```ts
 * const { event, serialized } = ownedEvent({ type: 'x', data: { n: 1 } });
 * // serialized: 'event: x\ndata: {"n":1}\n\n'; event.data is a new { n: 1 }
 * ```
 */
export function ownedEvent(event: SseEvent): { event: SseEvent; serialized: string } {
  const serialized = serializeEvent(event);
  const copy: SseEvent = { ...event };
  if (copy.data !== undefined && typeof copy.data !== 'string') {
    // JSON has no line break of its own (it escapes them), so it is the frame's one `data:`
    // line, and that line is the frame's last (the serializer writes `data:` after the rest).
    const end = serialized.length - 2;
    const line = serialized.lastIndexOf('\n', end - 1) + 1;
    copy.data = JSON.parse(serialized.slice(line + 'data: '.length, end)) as unknown;
  }
  return { event: copy, serialized };
}

import { sentFields, writeFrame, type SentFields } from './frame.js';
import type { SseEvent } from './sse-event.interface.js';

/**
 * A new event holding exactly what an event's frame sends, and that frame, from one reading of
 * its fields: `type` and `id` as the strings written, `retry`, `comment`, and `data` as the
 * well-formed string or a parse of the JSON sent (a `Date` becomes its ISO string, a `Map`
 * `{}`), which is what a client receives anyway. Nothing of the caller's is kept or touched: not
 * its nested objects (an `id` object, a `Buffer`), not its other properties (private fields of a
 * class), and a `data` getter is read once, like the serializer reads it.
 *
 * @example
 * ```ts
 * const { event, serialized } = sentEvent({ id: 7, data: { n: 1 } });
 * // event: { id: '7', data: { n: 1 } } (a new object); serialized: 'id: 7\ndata: {"n":1}\n\n'
 * ```
 */
export function sentEvent(event: SseEvent): { event: SseEvent; serialized: string } {
  const fields = sentFields(event);
  return { event: eventOfFields(fields), serialized: writeFrame(fields) };
}

/** A new event with the fields of {@link sentFields}, and nothing else. */
export function eventOfFields(fields: SentFields): SseEvent {
  const event: SseEvent = {};
  if (fields.comment !== undefined) event.comment = fields.comment;
  if (fields.type !== undefined) event.type = fields.type;
  if (fields.id !== undefined) event.id = fields.id;
  if (fields.retry !== undefined) event.retry = fields.retry;
  if (fields.data !== undefined) {
    event.data = fields.json === true ? (JSON.parse(fields.data) as unknown) : fields.data;
  }
  return event;
}

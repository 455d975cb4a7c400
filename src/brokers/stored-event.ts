import { sentFields, writeFrame } from '../wire/frame.js';
import { adoptEvent } from '../wire/prepared-event.js';
import { eventOfFields } from '../wire/sent-event.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import type { StoredEvent } from './sse-broker.interface.js';

/**
 * The event a broker stores and hands out: a deep-frozen object of its own, with its id and
 * channel, carrying its frame so every stream shares the bytes. Given `serialized` (the frame
 * without an id, see `PublishOptions.serialized`), the caller's event is taken over and the id
 * is stamped into that frame; otherwise a new event holding what the event's frame sends is
 * made and serialized here (the publisher's objects are only read), so nothing the publisher
 * does to its object afterwards changes what is sent.
 *
 * @example
 * ```ts
 * const stored = storedEvent('news', '1700-0', { type: 'headline', data: { title: 'Hi' } });
 * ```
 */
export function storedEvent(
  channel: string,
  id: string,
  event: SseEvent,
  serialized?: string,
): StoredEvent {
  if (serialized === undefined) {
    // The frame is written from the fields, not from the new event: data sent as JSON that
    // is a string there (a `Date`'s) keeps its quotes. The broker's id replaces the event's.
    const fields = sentFields(event);
    return adoptEvent({ ...eventOfFields(fields), id, channel }, writeFrame({ ...fields, id }));
  }
  return adoptEvent({ ...event, id, channel }, stampId(serialized, id));
}

/**
 * `serializeEvent({ ...event, id })` from `serializeEvent(event)`: the id line goes after the
 * comment lines and the `event:` line, where the serializer writes it, and before `retry:` and
 * `data:`. `id` is a broker's own id (no CR, LF or NUL).
 */
export function stampId(serialized: string, id: string): string {
  let at = 0;
  while (serialized.charCodeAt(at) === 0x3a /* ':' */) at = serialized.indexOf('\n', at) + 1;
  if (serialized.startsWith('event: ', at)) at = serialized.indexOf('\n', at) + 1;
  // A frame of comments only has no blank line yet: with an id, it has a field to dispatch.
  const end = at === serialized.length ? '\n' : '';
  return `${serialized.slice(0, at)}id: ${id}\n${serialized.slice(at)}${end}`;
}

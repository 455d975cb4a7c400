import { sentFields, type SentFields } from '../wire/frame.js';
import { adoptEvent } from '../wire/prepared-event.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import type { StoredEvent } from './sse-broker.interface.js';
import { storedEventOfFields } from './stored-event.js';

/**
 * The fields of an entry other than `data`'s text, as one line of JSON. `data` says how the
 * text after that line is sent: `text`, a string as it is; `json`, JSON text (so a `Date`'s
 * `"2020-…"` keeps its quotes, which a parse and a new serialization would lose).
 */
interface EntryHead {
  type?: string;
  retry?: number;
  comment?: string;
  data?: 'text' | 'json';
}

/**
 * What the Redis broker stores of an event (in its channel's stream and in the live feed): the
 * fields its frame was written from, so that every read gives back the very bytes of the first
 * frame, on any instance, and the same values to a `filter` as the memory broker. A line of
 * JSON (the head: every field but `data`'s text) and then `data`'s text as it is, unescaped:
 * `{"type":"price","data":"json"}\n{"symbol":"ACME"}`. JSON never holds a raw line feed, so the
 * first one ends the head, and an entry of the previous format (`JSON.stringify(event)`) has
 * none. The event's own `id` is not stored: the broker's replaces it.
 *
 * With `serialized` (the caller's frame, see `PublishOptions.serialized`), `event` is what the
 * serializer sent (the hub's copy): the text of its `data` is taken from that frame, never
 * serialized again. Without it, the event is read once, as the serializer reads it (a `data`
 * getter once), and only read.
 */
export function encodeEntry(event: SseEvent, serialized?: string): string {
  return serialized === undefined
    ? entryOfFields(sentFields(event))
    : entryOfFields(fieldsOfFrame(event, serialized));
}

/** The stored event of an entry, with the frame its fields give (the id stamped in). */
export function decodeEntry(channel: string, id: string, entry: string): StoredEvent {
  const cut = entry.indexOf('\n');
  if (cut === -1) {
    // The previous format, kept readable while its entries age out: the event's JSON,
    // serialized again (the one format that could not tell a JSON string from a string).
    return adoptEvent({ ...(JSON.parse(entry) as SseEvent), id, channel });
  }
  const { type, retry, comment, data } = JSON.parse(entry.slice(0, cut)) as EntryHead;
  const fields: { -readonly [K in keyof SentFields]: SentFields[K] } = {};
  if (comment !== undefined) fields.comment = comment;
  if (type !== undefined) fields.type = type;
  if (retry !== undefined) fields.retry = retry;
  if (data !== undefined) {
    fields.data = entry.slice(cut + 1);
    fields.json = data === 'json';
  }
  return storedEventOfFields(channel, id, fields);
}

function entryOfFields({ comment, type, retry, data, json }: SentFields): string {
  const head: EntryHead = {};
  if (type !== undefined) head.type = type;
  if (retry !== undefined) head.retry = retry;
  if (comment !== undefined) head.comment = comment;
  if (data !== undefined) head.data = json === true ? 'json' : 'text';
  return `${JSON.stringify(head)}\n${data ?? ''}`;
}

/**
 * The fields `serialized` was written from, given the event holding what it sends (strings as
 * they are, JSON data parsed). JSON text is one line, the last `data:` line of the frame; a
 * string sent as it is ends with its frame's last line, no longer than itself, while a string
 * sent as JSON (a `Date`'s ISO string) is sent as its quoted literal, longer than itself.
 */
function fieldsOfFrame(event: SseEvent, serialized: string): SentFields {
  const { comment, type, retry, data } = event;
  const fields: { -readonly [K in keyof SentFields]: SentFields[K] } = {};
  if (comment !== undefined) fields.comment = comment;
  if (type !== undefined) fields.type = type;
  if (retry !== undefined) fields.retry = retry;
  if (data !== undefined) {
    // A frame with data ends with its last data line and the blank line: `data: …\n\n`.
    const start = serialized.lastIndexOf('\n', serialized.length - 3) + 1 + 'data: '.length;
    const line = serialized.slice(start, serialized.length - 2);
    const text = typeof data === 'string' && line.length <= data.length;
    fields.data = text ? (data as string) : line;
    fields.json = !text;
  }
  return fields;
}

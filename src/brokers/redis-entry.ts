import { sentFields, type SentFields, writeFrame } from '../wire/frame.js';
import { adoptEvent } from '../wire/prepared-event.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import type { StoredEvent } from './sse-broker.interface.js';

/** An entry's fields but its data: the head of its JSON, in this order. */
interface EntryHead {
  type?: string;
  retry?: number;
  comment?: string;
}

/** What an entry's JSON parses to; `id` and any other key only in the previous format. */
interface ParsedEntry extends EntryHead {
  /** Data sent as it is: a string (in the previous format, any data). */
  data?: unknown;
  /** Data sent as JSON, stored as that JSON, unescaped: always the entry's last key. */
  json?: unknown;
}

/**
 * What the Redis broker stores of an event (in its channel's stream and in the live feed): the
 * fields its frame was written from, as JSON, so that every read gives back the very bytes of
 * the first frame, on any instance, and the same values to a `filter` as the memory broker.
 * Data sent as it is (a string) is under `data`; data sent as JSON is under `json`, as that
 * JSON, last: `{"type":"price","json":{"symbol":"ACME"}}`. The key is the marker a parse of the
 * JSON alone could not give: a `Date`'s `{"json":"2020-…"}` keeps its quotes on the wire. The
 * previous format (`JSON.stringify(event)`) reads the same for string data, and its other data
 * is sent as JSON, as it was. The event's own `id` is not stored: the broker's replaces it.
 *
 * With `serialized` (the caller's frame, see `PublishOptions.serialized`), `event` is what the
 * serializer sent (the hub's copy): the text of its `data` is taken from that frame, never
 * serialized again. Without it, the event is read once, as the serializer reads it (a `data`
 * getter once), and only read.
 */
export function encodeEntry(event: SseEvent, serialized?: string): string {
  const fields = serialized === undefined ? sentFields(event) : fieldsOfFrame(event, serialized);
  const { data, json } = fields;
  const head = headOf(fields);
  if (data === undefined) return JSON.stringify(head);
  if (json !== true) return JSON.stringify({ ...head, data });
  return `${jsonPrefix(head)}${data}}`;
}

/** The stored event of an entry, with the frame its fields give (the id stamped in). */
export function decodeEntry(channel: string, id: string, entry: string): StoredEvent {
  const parsed = JSON.parse(entry) as ParsedEntry;
  const { data, json } = parsed;
  const head = headOf(parsed);
  const fields: { -readonly [K in keyof SentFields]: SentFields[K] } = { ...head, id };
  const event: SseEvent = { ...head };
  if (json !== undefined) {
    // The JSON text as stored, byte for byte (the parse of it is the event's data).
    const prefix = jsonPrefix(head);
    fields.data = entry.startsWith(prefix) ? entry.slice(prefix.length, -1) : JSON.stringify(json);
    fields.json = true;
    event.data = json;
  } else if (typeof data === 'string') {
    fields.data = data;
    fields.json = false;
    event.data = data;
  } else if (data !== undefined) {
    fields.data = JSON.stringify(data);
    fields.json = true;
    event.data = data;
  }
  return adoptEvent({ ...event, id, channel }, writeFrame(fields));
}

/** The head of an entry, its keys always in one order (the prefix of its `json` relies on it). */
function headOf({ type, retry, comment }: EntryHead): EntryHead {
  const head: EntryHead = {};
  if (type !== undefined) head.type = type;
  if (retry !== undefined) head.retry = retry;
  if (comment !== undefined) head.comment = comment;
  return head;
}

/** The entry's JSON up to its `json` value: `{"type":"t","json":`. */
function jsonPrefix(head: EntryHead): string {
  const fields = JSON.stringify(head).slice(1, -1);
  return `{${fields}${fields.length > 0 ? ',' : ''}"json":`;
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

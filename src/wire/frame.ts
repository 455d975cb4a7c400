import { InvalidEventFieldError } from '../errors/invalid-event-field.error.js';
import { InvalidStreamEventError } from '../errors/invalid-stream-event.error.js';
import { UnserializableEventDataError } from '../errors/unserializable-event-data.error.js';
import type { SseEvent } from './sse-event.interface.js';

// Every line terminator the event-stream grammar accepts: a value split on these cannot
// smuggle a field of its own into the frame.
const LINE_BREAK = /\r\n|\r|\n/;
const FORBIDDEN_IN_NAME = /[\r\n]/;
const FORBIDDEN_IN_ID = /[\r\n\0]/;

/**
 * An event's fields as its frame sends them, each one checked: `type` and `id` as the strings
 * written (well-formed), `comment` well-formed, and `data` as the text its `data:` lines carry.
 * The one place that decides what a field is sent as; {@link writeFrame} writes the frame.
 */
export interface SentFields {
  readonly comment?: string;
  readonly type?: string;
  readonly id?: string;
  readonly retry?: number;
  /** The well-formed string, or the JSON of any other value (then `json` is true). */
  readonly data?: string;
  readonly json?: boolean;
}

/**
 * Serializes one event into its exact `text/event-stream` bytes (as a string), ending with the
 * blank line that dispatches it. Pure: the same event always gives the same frame.
 *
 * - `data`: a string is split on CRLF, CR and LF into one `data:` line each (a parser joins them
 *   back with LF, so CR and CRLF arrive as LF); other values are `JSON.stringify`-ed.
 * - `type`, `id`: refused with {@link InvalidEventFieldError} when they hold CR or LF (and NUL,
 *   for `id`), never stripped.
 * - Lone UTF-16 surrogates, which UTF-8 cannot encode, are replaced with U+FFFD, as every
 *   UTF-8 encoder does.
 * - A value that is not an object, and an event with none of `data`, `id`, `retry` and
 *   `comment` (which would send nothing a client sees), are refused with
 *   {@link InvalidStreamEventError}: a frame is never empty.
 *
 * @example
 * ```ts
 * serializeEvent({ type: 'message', id: '1', data: 'hello' });
 * // 'event: message\nid: 1\ndata: hello\n\n'
 * ```
 */
export function serializeEvent(event: SseEvent): string {
  return writeFrame(sentFields(event));
}

/**
 * Reads and checks each field of an event once (a getter is read once), as {@link SentFields}.
 * Throws what {@link serializeEvent} throws for a field; an event with no field left is refused
 * by {@link writeFrame}.
 */
export function sentFields(event: SseEvent): SentFields {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new InvalidStreamEventError(`${describeValue(event)} is not an event`);
  }
  const { comment, type, id, retry, data } = event;
  // Every property from the start: one shape for every event, whichever fields it has.
  const fields: {
    comment?: string;
    type?: string;
    id?: string;
    retry?: number;
    data?: string;
    json?: boolean;
  } = {
    comment: undefined,
    type: undefined,
    id: undefined,
    retry: undefined,
    data: undefined,
    json: undefined,
  };
  if (comment !== undefined) fields.comment = commentText(comment);
  if (type !== undefined) {
    fields.type = wellFormed(String(type));
    if (FORBIDDEN_IN_NAME.test(fields.type)) {
      throw new InvalidEventFieldError('type', 'an event name cannot contain CR or LF');
    }
  }
  if (id !== undefined) {
    fields.id = wellFormed(String(id));
    if (FORBIDDEN_IN_ID.test(fields.id)) {
      throw new InvalidEventFieldError('id', 'an id cannot contain CR, LF or NUL');
    }
  }
  if (retry !== undefined) {
    checkRetry(retry);
    fields.retry = retry;
  }
  if (data !== undefined) {
    fields.json = typeof data !== 'string';
    fields.data = fields.json ? jsonText(data) : wellFormed(data as string);
  }
  return fields;
}

/**
 * The frame of checked fields. Refuses fields that send nothing a client sees (none of `data`,
 * `id`, `retry` and `comment`), with {@link InvalidStreamEventError}: a frame is never empty.
 */
export function writeFrame(fields: SentFields): string {
  const { comment, type, id, retry, data } = fields;
  if (data === undefined && id === undefined && retry === undefined && comment === undefined) {
    throw new InvalidStreamEventError(
      'an event without data, id, retry or comment sends nothing a client sees',
    );
  }
  let frame = comment === undefined ? '' : commentLines(comment);
  if (type !== undefined) frame += `event: ${type}\n`;
  if (id !== undefined) frame += `id: ${id}\n`;
  if (retry !== undefined) frame += `retry: ${retry}\n`;
  if (data !== undefined) frame += dataLines(data);
  // Comments alone need no blank line: there is nothing to dispatch.
  return type === undefined && id === undefined && retry === undefined && data === undefined
    ? frame
    : `${frame}\n`;
}

/**
 * A comment block (`: text` lines). Clients ignore it; proxies see bytes, which keeps idle
 * connections open.
 *
 * @example
 * ```ts
 * serializeComment('keep-alive'); // ': keep-alive\n'
 * ```
 */
export function serializeComment(text: string): string {
  return commentLines(commentText(text));
}

/**
 * A `retry:` field on its own, as sent when a stream opens or before it is ended by the server.
 *
 * @example
 * ```ts
 * serializeRetry(3000); // 'retry: 3000\n'
 * ```
 */
export function serializeRetry(retry: number): string {
  checkRetry(retry);
  return `retry: ${retry}\n`;
}

function checkRetry(retry: number): void {
  if (!Number.isSafeInteger(retry) || retry < 0) {
    throw new InvalidEventFieldError(
      'retry',
      `expected a non-negative integer, got ${String(retry)}`,
    );
  }
}

function commentText(comment: unknown): string {
  if (typeof comment !== 'string') {
    throw new InvalidEventFieldError('comment', `expected a string, got ${describeValue(comment)}`);
  }
  return wellFormed(comment);
}

/** The `data:` lines of a value: one per line of it. */
function dataLines(data: string): string {
  // Most data (and every JSON text) holds no line break: no split, no array.
  if (data.indexOf('\n') === -1 && data.indexOf('\r') === -1) return `data: ${data}\n`;
  let out = '';
  for (const line of data.split(LINE_BREAK)) out += `data: ${line}\n`;
  return out;
}

function commentLines(text: string): string {
  let out = '';
  for (const line of text.split(LINE_BREAK)) {
    out += line.length === 0 ? ':\n' : `: ${line}\n`;
  }
  return out;
}

function jsonText(data: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw new UnserializableEventDataError((error as Error).message, error);
  }
  if (json === undefined) {
    throw new UnserializableEventDataError(`JSON.stringify gives nothing for a ${typeof data}`);
  }
  // JSON.stringify escapes lone surrogates, so its output is always well-formed.
  return json;
}

function wellFormed(text: string): string {
  return text.isWellFormed() ? text : text.toWellFormed();
}

/** What a value is, for an error message: never its content, which may be private. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'object':
      return 'an object';
    case 'number':
    case 'boolean':
    case 'bigint':
      return `the ${typeof value} ${String(value)}`;
    default:
      return `a ${typeof value}`;
  }
}

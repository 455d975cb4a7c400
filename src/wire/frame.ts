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
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new InvalidStreamEventError(`${describeValue(event)} is not an event`);
  }
  if (
    event.data === undefined &&
    event.id === undefined &&
    event.retry === undefined &&
    event.comment === undefined
  ) {
    throw new InvalidStreamEventError(
      'an event without data, id, retry or comment sends nothing a client sees',
    );
  }
  let frame = '';
  let fields = false;
  if (event.comment !== undefined) {
    frame += serializeComment(event.comment);
  }
  if (event.type !== undefined) {
    const type = wellFormed(String(event.type));
    if (FORBIDDEN_IN_NAME.test(type)) {
      throw new InvalidEventFieldError('type', 'an event name cannot contain CR or LF');
    }
    frame += `event: ${type}\n`;
    fields = true;
  }
  if (event.id !== undefined) {
    const id = wellFormed(String(event.id));
    if (FORBIDDEN_IN_ID.test(id)) {
      throw new InvalidEventFieldError('id', 'an id cannot contain CR, LF or NUL');
    }
    frame += `id: ${id}\n`;
    fields = true;
  }
  if (event.retry !== undefined) {
    frame += serializeRetry(event.retry);
    fields = true;
  }
  if (event.data !== undefined) {
    for (const line of dataText(event.data).split(LINE_BREAK)) {
      frame += `data: ${line}\n`;
    }
    fields = true;
  }
  // Comments alone need no blank line: there is nothing to dispatch.
  return fields ? `${frame}\n` : frame;
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
  if (typeof text !== 'string') {
    throw new InvalidEventFieldError('comment', `expected a string, got ${describeValue(text)}`);
  }
  let out = '';
  for (const line of wellFormed(text).split(LINE_BREAK)) {
    out += line.length === 0 ? ':\n' : `: ${line}\n`;
  }
  return out;
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
  if (!Number.isSafeInteger(retry) || retry < 0) {
    throw new InvalidEventFieldError(
      'retry',
      `expected a non-negative integer, got ${String(retry)}`,
    );
  }
  return `retry: ${retry}\n`;
}

function dataText(data: unknown): string {
  if (typeof data === 'string') {
    return wellFormed(data);
  }
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

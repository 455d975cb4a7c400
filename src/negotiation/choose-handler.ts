import Negotiator from 'negotiator';
import { EVENT_STREAM_MEDIA_TYPE } from '../sse.constants.js';

/** Which handler of a path answers a request. */
export type HandlerChoice = 'stream' | 'plain' | 'not-acceptable';

// Streams are always UTF-8, so a client that names the charset is served too.
const STREAM_TYPES = [EVENT_STREAM_MEDIA_TYPE, `${EVENT_STREAM_MEDIA_TYPE};charset=utf-8`];

// Commas inside quoted parameter values do not separate media ranges.
const RANGE_SEPARATOR = /,(?=(?:[^"]*"[^"]*")*[^"]*$)/;

/**
 * Decides, from the `Accept` header alone, whether a request gets the event stream.
 *
 * | Accept                                   | stream + plain handler | stream only |
 * |------------------------------------------|------------------------|-------------|
 * | `text/event-stream`                      | stream                 | stream      |
 * | `text/event-stream, *\/*;q=0.1`          | stream                 | stream      |
 * | missing, `*\/*`, `text/*`                | plain                  | stream      |
 * | `text/event-stream, text/html` (a tie)   | plain                  | stream      |
 * | `application/json`                       | plain                  | 406         |
 * | `text/event-stream;q=0, *\/*`            | plain                  | 406         |
 *
 * @example
 * ```ts
 * chooseHandler('text/event-stream', true); // 'stream'
 * chooseHandler('*\/*', true);              // 'plain'
 * ```
 */
export function chooseHandler(accept: string | undefined, hasPlainHandler: boolean): HandlerChoice {
  const acceptable = new Negotiator({ headers: { accept } }).mediaType(STREAM_TYPES) !== undefined;
  if (!hasPlainHandler) {
    return acceptable ? 'stream' : 'not-acceptable';
  }
  return acceptable && accept !== undefined && prefersEventStream(accept) ? 'stream' : 'plain';
}

/**
 * True when the client names `text/event-stream` itself and ranks it above every other range.
 * Negotiator ranks by q-value and breaks ties by header order, so asking it again with the
 * event-stream ranges moved last tells a strict preference from a tie.
 */
function prefersEventStream(accept: string): boolean {
  const ranges = accept.split(RANGE_SEPARATOR);
  const streamRanges: string[] = [];
  const otherRanges: string[] = [];
  for (const range of ranges) {
    const type = range.split(';', 1)[0]!.trim().toLowerCase();
    (type === EVENT_STREAM_MEDIA_TYPE ? streamRanges : otherRanges).push(range);
  }
  if (streamRanges.length === 0) {
    return false;
  }
  const [first] = new Negotiator({
    headers: { accept: [...otherRanges, ...streamRanges].join(',') },
  }).mediaTypes();
  return first?.toLowerCase() === EVENT_STREAM_MEDIA_TYPE;
}

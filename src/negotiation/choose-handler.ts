import Negotiator from 'negotiator';
import { EVENT_STREAM_MEDIA_TYPE } from '../sse.constants.js';

/** Which handler of a path answers a request. */
export type HandlerChoice = 'stream' | 'plain' | 'not-acceptable';

/**
 * The longest `Accept` header read, in characters. Browsers send about 100; a longer header is
 * answered as if it were absent, so that no request costs more than this much parsing.
 */
export const MAX_ACCEPT_LENGTH = 2048;

/** The most media ranges read from one `Accept` header; past it, the header is ignored too. */
export const MAX_ACCEPT_RANGES = 32;

// Streams are always UTF-8, so a client that names the charset is served too.
const STREAM_TYPES = [EVENT_STREAM_MEDIA_TYPE, `${EVENT_STREAM_MEDIA_TYPE};charset=utf-8`];

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
 * | longer than 2048 characters or 32 ranges | plain (as if missing)  | stream      |
 *
 * The work is linear in the header's length and bounded by {@link MAX_ACCEPT_LENGTH}: one pass
 * splits it, and the negotiator sees at most {@link MAX_ACCEPT_RANGES} ranges.
 *
 * @example
 * ```ts
 * chooseHandler('text/event-stream', true); // 'stream'
 * chooseHandler('*\/*', true);              // 'plain'
 * ```
 */
export function chooseHandler(accept: string | undefined, hasPlainHandler: boolean): HandlerChoice {
  const ranges = accept === undefined ? undefined : mediaRanges(accept);
  if (ranges === undefined) {
    // No header, or one too long to read: no stated preference.
    return hasPlainHandler ? 'plain' : 'stream';
  }
  const acceptable =
    new Negotiator({ headers: { accept: ranges.join(',') } }).mediaType(STREAM_TYPES) !== undefined;
  if (!hasPlainHandler) {
    return acceptable ? 'stream' : 'not-acceptable';
  }
  return acceptable && prefersEventStream(ranges) ? 'stream' : 'plain';
}

/**
 * The non-empty media ranges of a header, in one pass (commas inside quoted parameter values do
 * not separate ranges), or `undefined` for a header past the caps.
 */
function mediaRanges(accept: string): string[] | undefined {
  if (accept.length > MAX_ACCEPT_LENGTH) return undefined;
  const ranges: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i <= accept.length; i++) {
    const code = i === accept.length ? 44 : accept.charCodeAt(i);
    if (code === 34) {
      quoted = !quoted;
    } else if (code === 92 && quoted && i + 1 < accept.length) {
      i++; // a quoted-pair: the next character is literal
    } else if (code === 44 && (!quoted || i === accept.length)) {
      const range = accept.slice(start, i).trim();
      start = i + 1;
      if (range.length === 0) continue;
      if (ranges.length === MAX_ACCEPT_RANGES) return undefined;
      ranges.push(range);
    }
  }
  return ranges;
}

/**
 * True when the client names `text/event-stream` itself and ranks it above every other range.
 * Negotiator ranks by q-value and breaks ties by header order, so asking it again with the
 * event-stream ranges moved last tells a strict preference from a tie.
 */
function prefersEventStream(ranges: string[]): boolean {
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

import { serializeEvent } from './frame.js';
import { sentEvent } from './sent-event.js';
import type { SseEvent } from './sse-event.interface.js';
import { WireFrame } from './wire-frame.js';

/**
 * The frame of an event whose bytes this library owns. A symbol no user object carries by
 * accident, and a non-enumerable property, so spreading the event (`{ ...event }`) makes a new
 * event that is serialized again.
 */
const FRAME = Symbol('nestjs-event-stream.frame');

/**
 * An event serialized once, for every stream it is sent to: a deep-frozen object of the
 * library's own, holding exactly what its bytes send (`type` and `id` as strings, `data` as the
 * JSON a client receives), so it can no longer differ from them. `SseHub` events are prepared
 * events; make your own with {@link prepareEvent}.
 */
export type PreparedEvent<E extends SseEvent = SseEvent> = {
  readonly type?: string;
  readonly id?: string;
  readonly retry?: number;
  readonly comment?: string;
  readonly data?: E extends { data?: infer D } ? D : unknown;
} & {
  readonly [FRAME]: unknown;
};

/**
 * Serializes an event once and returns a new, deep-frozen event that carries its bytes: every
 * stream it is sent to shares them (fan-out from one `Subject` to many streams serializes once,
 * not once per stream). Throws what {@link serializeEvent} throws, at the call, before any stream
 * sees the event. Plain events work as well; they are serialized for each stream, as they are
 * sent, so a producer may mutate and re-emit its own objects.
 *
 * The new event holds the fields the frame sends and nothing else: `type` and `id` as the
 * strings sent, `retry`, `comment`, and `data` as a string or as the parse of its JSON (a `Date`
 * becomes its ISO string), which is what a client receives anyway. The object given is only
 * read (a `data` getter too), never frozen, nor anything it holds.
 *
 * @example
 * ```ts
 * const feed = new Subject<SseEvent>();
 * feed.next(prepareEvent({ type: 'price', data: { symbol: 'ACME', price: 12.5 } }));
 * ```
 */
export function prepareEvent<E extends SseEvent>(event: E): PreparedEvent<E> {
  const { event: copy, serialized } = sentEvent(event);
  return adoptEvent(copy, serialized) as PreparedEvent<E>;
}

/**
 * Makes an event the library built itself (a broker's stored event, parsed from its own JSON)
 * a prepared event in place: nothing else holds a reference to it, so it is frozen, not copied.
 * `text` is its frame, when already serialized.
 */
export function adoptEvent<E extends SseEvent>(event: E, text = serializeEvent(event)): E {
  Object.defineProperty(event, FRAME, { value: new WireFrame(text) });
  return deepFreeze(event);
}

/** The bytes of a prepared event, or `undefined` for any other value. */
export function preparedFrame(event: unknown): WireFrame | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const frame = (event as { [FRAME]?: unknown })[FRAME];
  return frame instanceof WireFrame ? frame : undefined;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/**
 * One server-sent event. Nest's own `MessageEvent` (from `@nestjs/common`) fits this shape, so
 * handlers may keep returning `Observable<MessageEvent>`.
 *
 * @example
 * ```ts
 * const event: SseEvent = { type: 'price', id: '42', data: { symbol: 'ACME', price: 12.5 } };
 * ```
 */
export interface SseEvent {
  /**
   * A string is sent as it is, one `data:` line per line; any other value is sent as JSON.
   * Without `data` (or with `undefined`), no `data:` field is written and browsers dispatch nothing.
   */
  data?: unknown;
  /** The event name (`event:` field). Browsers dispatch nameless events as `message`. */
  type?: string;
  /** The id a reconnecting client sends back as `Last-Event-ID`. Never generated for you. */
  id?: string | number;
  /** Reconnection delay hint in milliseconds, a non-negative integer. */
  retry?: number;
  /** A comment, ignored by clients; useful for padding or keep-alives. */
  comment?: string;
}

import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';

/**
 * Injects where a reconnecting client is: its `Last-Event-ID` header (decoded as UTF-8, where
 * Node reads header bytes as latin1), else a `lastEventId` query parameter, for clients that
 * cannot set headers. The header wins: a browser resends its original URL with a newer header.
 * `undefined` for a first connection. A malformed value is passed on as it is: the hub answers
 * it with a `reset`, never with a 400, which would make a browser stop for good.
 *
 * @example
 * ```ts
 * @EventStream('feed')
 * feed(@LastEventId() lastEventId?: string) {
 *   return this.hub.stream('feed', { lastEventId });
 * }
 * ```
 */
export const LastEventId = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string | undefined =>
    lastEventIdOf(context.switchToHttp().getRequest<IncomingMessage>()),
);

/**
 * The `Last-Event-ID` of a request, as {@link LastEventId} reads it.
 *
 * @example
 * ```ts
 * lastEventIdOf(req); // '1700000000000-0' or undefined
 * ```
 */
export function lastEventIdOf(request: IncomingMessage): string | undefined {
  const header = request.headers['last-event-id'];
  if (typeof header === 'string' && header.length > 0) {
    return Buffer.from(header, 'latin1').toString('utf8');
  }
  const url = request.url ?? '';
  const query = url.indexOf('?');
  if (query === -1) return undefined;
  const value = new URLSearchParams(url.slice(query + 1)).get('lastEventId');
  return value === null || value.length === 0 ? undefined : value;
}

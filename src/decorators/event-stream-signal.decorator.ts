import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { onceResponseClosed } from '../platform/response-closed.js';

/**
 * Injects an `AbortSignal` that aborts when the stream's response closes: the client went away,
 * or the stream ended. Async setup (a fetch, a query) passes it on and stops early for a client
 * that is already gone.
 *
 * @example
 * ```ts
 * @EventStream('answers', { method: RequestMethod.POST })
 * async answer(@Body() body: Prompt, @EventStreamSignal() signal: AbortSignal) {
 *   const reply = await this.llm.start(body, { signal });
 *   return reply.tokens$;
 * }
 * ```
 */
export const EventStreamSignal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AbortSignal => {
    const res = context.switchToHttp().getResponse<ServerResponse & { raw?: ServerResponse }>();
    return closeSignal(res.raw ?? res);
  },
);

function closeSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  onceResponseClosed(res, () => controller.abort());
  return controller.signal;
}

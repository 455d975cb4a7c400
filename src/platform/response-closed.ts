import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';

/**
 * Calls `listener` once, when a response is over for its client: it closed, or (HTTP/1.1) the
 * connection of a pipelined request closed before the response's turn came. Node gives such a
 * response its socket only once the responses before it are done, and never closes it if the
 * connection goes first; its request's socket is the only one to say so.
 *
 * @example
 * ```ts
 * onceResponseClosed(res, () => controller.abort());
 * ```
 */
export function onceResponseClosed(
  res: ServerResponse | Http2ServerResponse,
  listener: () => void,
): void {
  if (res.destroyed || res.writableFinished) {
    listener();
    return;
  }
  const waiting =
    (res as ServerResponse).socket === null ? (res as ServerResponse).req?.socket : undefined;
  const fire = (): void => {
    res.off('close', fire);
    waiting?.off('close', fire);
    listener();
  };
  res.once('close', fire);
  if (waiting === undefined) return;
  if (waiting.destroyed) {
    fire();
    return;
  }
  waiting.once('close', fire);
  // Its turn came: from now on the response's own 'close' says it.
  (res as ServerResponse).once('socket', () => waiting.off('close', fire));
}

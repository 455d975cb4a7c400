import { SseError } from './sse.error.js';

/**
 * An event published to the hub carries an `id` of its own. The hub assigns ids (increasing,
 * unique across instances, resumable), and never overwrites one silently.
 *
 * @example
 * ```ts
 * await hub.publish('orders', { id: 'o-1', data: order });  // rejects with ProducerIdError
 * await hub.publish('orders', { data: { orderId: 'o-1', ...order } }); // put it in the data
 * ```
 */
export class ProducerIdError extends SseError {
  readonly code = 'SSE_PRODUCER_ID';

  constructor(channel: string) {
    super(
      `An event published to "${channel}" has an id of its own; the hub assigns ids. ` +
        'Move your id into the data.',
    );
  }
}

import { memoryBroker, type SseBroker } from '../../../src/index.js';

/** The error a broker that lost its store rejects publishes with. */
export class StoreDownError extends Error {
  readonly code = 'STORE_DOWN';
}

/** A memory broker that rejects every publish while `down` is set. */
export function flakyBroker(): SseBroker & { down: boolean } {
  const broker = Object.assign(memoryBroker(), { down: false });
  const publish = broker.publish.bind(broker);
  broker.publish = (...args) =>
    broker.down ? Promise.reject(new StoreDownError('the store is down')) : publish(...args);
  return broker;
}

import type { SseBroker } from '../brokers/sse-broker.interface.js';

/**
 * `sse.broker` of the hub's broker: `memory`, `redis`, or a custom broker's class name without
 * its `Broker` suffix, lower-cased (one value per application, whatever the broker).
 */
export function brokerKindOf(broker: SseBroker): string {
  const name = broker.constructor?.name;
  if (typeof name !== 'string' || name.length === 0 || name === 'Object') return 'custom';
  return name.replace(/Broker$/, '').toLowerCase() || 'custom';
}

import type {
  BrokerSubscription,
  SseBroker,
  StoredEvent,
} from '../../src/brokers/sse-broker.interface.js';

/**
 * A broker with a count of the subscriptions that are live: subscribed, and `ready` (on Redis,
 * once the instance knows where the channel's log ends, every later event reaches them). A
 * benchmark publishes once every stream is counted here, so that no stream can miss its first
 * event. Events go from the broker to the hub's listeners untouched, after `onEvent` (if any).
 */
export function countedBroker(
  inner: SseBroker,
  onEvent?: (event: StoredEvent) => void,
): { broker: SseBroker; live: () => number } {
  let live = 0;
  const broker: SseBroker = {
    connect: () => inner.connect(),
    publish: (channel, event, options) => inner.publish(channel, event, options),
    health: (options) => inner.health(options),
    subscribe(channel, hubListener, onGap): BrokerSubscription {
      const subscription = inner.subscribe(
        channel,
        onEvent === undefined
          ? hubListener
          : (event) => {
              onEvent(event);
              hubListener(event);
            },
        onGap,
      );
      let state: 'waiting' | 'live' | 'gone' = 'waiting';
      subscription.ready.then(
        () => {
          if (state === 'waiting') {
            state = 'live';
            live++;
          }
        },
        () => undefined,
      );
      return {
        ready: subscription.ready,
        unsubscribe() {
          if (state === 'live') live--;
          state = 'gone';
          subscription.unsubscribe();
        },
      };
    },
    readAfter: (channel, afterId, limit) => inner.readAfter(channel, afterId, limit),
    latestId: (channel) => inner.latestId(channel),
    compareIds: (a, b) => inner.compareIds(a, b),
    close: () => inner.close(),
  };
  return { broker, live: () => live };
}

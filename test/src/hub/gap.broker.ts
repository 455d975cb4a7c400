import type { BrokerSubscription, GapReason, SseBroker } from '../../../src/index.js';
import { CountingBroker } from './counting.broker.js';

interface Follower {
  readonly channel: string;
  /** Live events still to swallow before the gap is reported. */
  behind: number;
  readonly onGap?: (reason: GapReason) => void;
}

/**
 * A broker whose reader falls behind on demand, as a Redis reader stalled past retention does:
 * it swallows live deliveries of a channel to every listener, then tells each listener it
 * skipped them before it delivers anything newer.
 */
export class GapBroker extends CountingBroker {
  private readonly followers = new Set<Follower>();

  /** The next `count` live events of `channel` reach none of its listeners now. */
  fallBehind(channel: string, count: number): void {
    for (const follower of this.followers)
      if (follower.channel === channel) follower.behind = count;
  }

  override subscribe(...args: Parameters<SseBroker['subscribe']>): BrokerSubscription {
    const [channel, listener, onGap] = args;
    const follower: Follower = { channel, behind: 0, onGap };
    this.followers.add(follower);
    const subscription = super.subscribe(
      channel,
      (event) => {
        if (follower.behind === 0) {
          listener(event);
          return;
        }
        follower.behind--;
        // Found when it reads on, before any newer event: as the broker contract says.
        if (follower.behind === 0) follower.onGap?.('history-gap');
      },
      onGap,
    );
    return {
      ready: subscription.ready,
      unsubscribe: () => {
        this.followers.delete(follower);
        subscription.unsubscribe();
      },
    };
  }
}

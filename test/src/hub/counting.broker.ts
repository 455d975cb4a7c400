import type { BrokerSubscription, SseBroker } from '../../../src/index.js';

/**
 * A broker that counts, from outside the hub, what the hub does with the broker it wraps: the
 * subscriptions it holds (a disconnect must release them), and how its history reads and live
 * deliveries interleave (whether live events arrived while a replay was reading).
 */
export class CountingBroker implements SseBroker {
  /** Subscriptions taken and not yet released, by channel. */
  readonly active = new Map<string, number>();
  /** Live events handed to the hub's listeners so far. */
  delivered = 0;
  /** For each history page read, oldest first: how many live events had been delivered then. */
  readonly reads: Array<{ channel: string; deliveredBefore: number }> = [];
  private readonly waiters = new Set<() => void>();
  /** While set, history reads wait for live deliveries: see {@link holdReads}. */
  private readGate?: Array<() => void>;

  constructor(private readonly inner: SseBroker) {}

  /** Subscriptions held in all. */
  get held(): number {
    let total = 0;
    for (const count of this.active.values()) total += count;
    return total;
  }

  /** Resolves once `held` is `count`; rejects with the counts after `timeoutMs`. */
  whenHeld(count: number, timeoutMs = 5000): Promise<void> {
    if (this.held === count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.held === count) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `${this.held} broker subscription(s) held after ${timeoutMs} ms, expected ${count}: ` +
              JSON.stringify(Object.fromEntries(this.active)),
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /**
   * From now on, each history read first waits for the next live delivery, so that a replay's
   * page reads and live events interleave whatever the timing; until {@link releaseReads}.
   */
  holdReads(): void {
    this.readGate ??= [];
  }

  releaseReads(): void {
    const held = this.readGate ?? [];
    this.readGate = undefined;
    for (const release of held) release();
  }

  connect(): Promise<void> {
    return this.inner.connect();
  }

  publish(...args: Parameters<SseBroker['publish']>): ReturnType<SseBroker['publish']> {
    return this.inner.publish(...args);
  }

  subscribe(...args: Parameters<SseBroker['subscribe']>): BrokerSubscription {
    const [channel, listener, onGap] = args;
    const subscription = this.inner.subscribe(
      channel,
      (event) => {
        this.delivered++;
        listener(event);
        for (const release of this.readGate?.splice(0) ?? []) release();
      },
      onGap,
    );
    this.change(channel, +1);
    let released = false;
    return {
      ready: subscription.ready,
      unsubscribe: () => {
        subscription.unsubscribe();
        // Counted once, however many times the hub calls it.
        if (released) return;
        released = true;
        this.change(channel, -1);
      },
    };
  }

  async readAfter(...args: Parameters<SseBroker['readAfter']>): ReturnType<SseBroker['readAfter']> {
    const gate = this.readGate;
    if (gate !== undefined) await new Promise<void>((release) => gate.push(release));
    this.reads.push({ channel: args[0], deliveredBefore: this.delivered });
    return this.inner.readAfter(...args);
  }

  latestId(channel: string): Promise<string | undefined> {
    return this.inner.latestId(channel);
  }

  compareIds(a: string, b: string): number {
    return this.inner.compareIds(a, b);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  health(...args: Parameters<SseBroker['health']>): ReturnType<SseBroker['health']> {
    return this.inner.health(...args);
  }

  private change(channel: string, delta: number): void {
    const count = (this.active.get(channel) ?? 0) + delta;
    if (count === 0) this.active.delete(channel);
    else this.active.set(channel, count);
    for (const waiter of this.waiters) waiter();
  }
}

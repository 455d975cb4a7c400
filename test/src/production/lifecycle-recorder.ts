import type { Subscription } from 'rxjs';
import type { CloseReason, StreamLifecycleEvent, StreamRegistry } from '../../../src/index.js';

/** Records `StreamRegistry.lifecycle$` from the moment it is created, and waits on it. */
export class LifecycleRecorder {
  readonly events: StreamLifecycleEvent[] = [];
  private readonly subscription: Subscription;
  private readonly waiters = new Set<() => void>();

  constructor(registry: StreamRegistry) {
    this.subscription = registry.lifecycle$.subscribe((event) => {
      this.events.push(event);
      for (const waiter of this.waiters) waiter();
    });
  }

  get opens(): StreamLifecycleEvent[] {
    return this.events.filter((event) => event.type === 'open');
  }

  closes(reason?: CloseReason): Array<Extract<StreamLifecycleEvent, { type: 'close' }>> {
    return this.events.filter(
      (event): event is Extract<StreamLifecycleEvent, { type: 'close' }> =>
        event.type === 'close' && (reason === undefined || event.reason === reason),
    );
  }

  /** Resolves once `predicate` holds for what was recorded; fails after `timeoutMs`. */
  waitFor(predicate: (recorder: this) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate(this)) return;
        finish();
        resolve();
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(
            `Timed out after ${timeoutMs} ms waiting for ${what}; lifecycle so far: ${this.describe()}`,
          ),
        );
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  stop(): void {
    this.subscription.unsubscribe();
    this.waiters.clear();
  }

  private describe(): string {
    return (
      this.events
        .map((e) => `${e.type}${e.type === 'close' ? `(${e.reason})` : ''} ${e.stream.path}`)
        .join(', ') || 'nothing'
    );
  }
}

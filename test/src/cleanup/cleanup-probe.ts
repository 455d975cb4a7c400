import { Injectable } from '@nestjs/common';
import { Subject } from 'rxjs';
import type { SseEvent } from '../../../src/index.js';

/**
 * Counts, from inside the handlers' own Observables, how many streams were subscribed and how
 * many were torn down: a record kept apart from the library's bookkeeping.
 */
@Injectable()
export class CleanupProbe {
  subscribed = 0;
  finalized = 0;
  /** The source of the `manual` route: the test decides when it emits and completes. */
  readonly manual = new Subject<SseEvent>();

  private readonly waiters = new Set<() => void>();

  onSubscribe(): void {
    this.subscribed++;
  }

  onFinalize(): void {
    this.finalized++;
    for (const waiter of this.waiters) waiter();
  }

  /** Resolves once `count` sources ran their `finalize`; rejects with the counts after `timeoutMs`. */
  whenFinalized(count: number, timeoutMs = 10_000): Promise<void> {
    if (this.finalized >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.finalized >= count) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `Only ${this.finalized} of ${count} stream sources were finalized after ${timeoutMs} ms ` +
              `(${this.subscribed} subscribed): a disconnect left a subscription running.`,
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
}

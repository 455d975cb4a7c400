import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { Subject } from 'rxjs';
import type { SseEvent } from '../../../src/index.js';

/** What the guarantees routes share with their tests: a quiet upstream, a gate, call counts. */
@Injectable()
export class GuaranteesProbe {
  /** An upstream that emits only when a test says so (`msg`), and is usually quiet. */
  readonly upstream = new EventEmitter();
  /** Set-ups that started, and their clients' aborts (the signal of @EventStreamSignal()). */
  setups = 0;
  aborts = 0;
  /** Events a test sends, one at a time, to the `compressible` route. */
  readonly feed = new Subject<SseEvent>();
  /** What the `scripted` route plays: steps of values; set by a test before it connects. */
  script: unknown[][] = [];

  private releaseGate?: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.releaseGate = resolve));
  private readonly waiters = new Set<() => void>();

  /** The first set-up waits for {@link openGate}; the later ones do not. */
  setupGate(): Promise<void> {
    this.setups++;
    this.notify();
    return this.setups === 1 ? this.gate : Promise.resolve();
  }

  openGate(): void {
    this.releaseGate?.();
  }

  aborted(): void {
    this.aborts++;
    this.notify();
  }

  /** Resolves once `predicate` holds. */
  until(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!predicate()) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const waiter of this.waiters) waiter();
  }
}

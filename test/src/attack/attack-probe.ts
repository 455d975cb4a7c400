import { Injectable } from '@nestjs/common';

/** What the attack routes share with their tests: gates, and counts of what ran. */
@Injectable()
export class AttackProbe {
  /** Named counters: set-ups started, finally blocks run, teardowns, ... */
  readonly counts = new Map<string, number>();
  private readonly gates = new Map<string, { promise: Promise<void>; open: () => void }>();
  private readonly waiters = new Set<() => void>();

  count(name: string): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    this.notify();
  }

  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  /** A promise that settles when a test opens the gate of that name. */
  gate(name: string): Promise<void> {
    let gate = this.gates.get(name);
    if (gate === undefined) {
      let open!: () => void;
      const promise = new Promise<void>((resolve) => (open = resolve));
      gate = { promise, open };
      this.gates.set(name, gate);
    }
    return gate.promise;
  }

  open(name: string): void {
    void this.gate(name);
    this.gates.get(name)!.open();
  }

  until(predicate: () => boolean, what = 'the probe', timeoutMs = 8000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what} (${JSON.stringify([...this.counts])})`));
      }, timeoutMs);
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
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

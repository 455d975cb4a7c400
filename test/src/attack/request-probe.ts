import { Injectable } from '@nestjs/common';

/**
 * What the platform-requests app saw, without holding any request (a test checks that closed
 * streams' requests are collected): the guarded requests in a WeakSet, the rest as counts.
 */
@Injectable()
export class RequestProbe {
  /** Every request a guard let through, as the guard got it. */
  readonly guarded = new WeakSet<object>();
  /** Whether each handler call got, through @Req(), the very request the guard saw. */
  readonly handedGuardedRequest: boolean[] = [];
  /** Calls of the slow (async) handler so far. */
  entered = 0;
  private enteredWaiters: Array<() => void> = [];
  private releaseGate!: () => void;
  private gate = this.newGate();
  /** Resolved once the slow handler returned its source (after {@link openGate}). */
  returned!: Promise<void>;
  private markReturned!: () => void;

  constructor() {
    this.resetReturned();
  }

  /** Resolves once the slow handler has been entered `count` times. */
  async untilEntered(count: number): Promise<void> {
    while (this.entered < count) {
      await new Promise<void>((resolve) => this.enteredWaiters.push(resolve));
    }
  }

  /** Lets every pending slow handler go on. */
  openGate(): void {
    this.releaseGate();
  }

  /** For the slow handler: counts its call, then waits for the gate. */
  async enterSlow(): Promise<void> {
    this.entered++;
    for (const waiter of this.enteredWaiters.splice(0)) waiter();
    await this.gate;
  }

  slowReturned(): void {
    this.markReturned();
  }

  private newGate(): Promise<void> {
    return new Promise<void>((resolve) => (this.releaseGate = resolve));
  }

  private resetReturned(): void {
    this.returned = new Promise<void>((resolve) => (this.markReturned = resolve));
  }
}

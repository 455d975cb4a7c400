import { Injectable } from '@nestjs/common';
import { Subject } from 'rxjs';

/**
 * Holds reconnecting clients at the door, so a test decides what is published between two
 * connections of one client; records the Last-Event-ID each connection came with, and ends
 * the streams open when told (a graceful end: the client has read everything sent before).
 */
@Injectable()
export class ReconnectGate {
  /** The Last-Event-ID of each connection, in the order they came. */
  readonly seen: Array<string | undefined> = [];
  /** Completes the streams open now. */
  readonly cuts = new Subject<void>();
  private held?: Promise<void>;
  private release?: () => void;
  private readonly arrivals = new Set<() => void>();

  /** From now on, connections wait at the door until {@link open}. */
  close(): void {
    this.held ??= new Promise((resolve) => (this.release = resolve));
  }

  open(): void {
    this.release?.();
    this.held = undefined;
  }

  /** Resolves once `count` connections came in all. */
  arrived(count: number): Promise<void> {
    if (this.seen.length >= count) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (this.seen.length < count) return;
        this.arrivals.delete(check);
        resolve();
      };
      this.arrivals.add(check);
    });
  }

  async enter(lastEventId: string | undefined): Promise<void> {
    this.seen.push(lastEventId);
    // A Set may lose members while iterated: each check removes only itself.
    for (const check of this.arrivals) check();
    await this.held;
  }
}

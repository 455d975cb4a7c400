import { Injectable } from '@nestjs/common';
import { Subject } from 'rxjs';
import { within } from '../../support/deadline.js';

/**
 * The streams a browser opened, as the server saw them: the HTTP version of each, how many are
 * open now, and one Subject whose events every open stream sends. Shared by the raw server and
 * the Nest app of the browser test, so that switching between them changes nothing else.
 */
@Injectable()
export class BrowserStreams {
  /** The HTTP version of every stream opened, in order (`'2.0'`, `'1.1'`). */
  readonly opened: string[] = [];
  /** Every open stream sends what is published here. */
  readonly published = new Subject<string>();
  private open = 0;
  private readonly waiters = new Set<() => void>();

  /** A stream opened over `httpVersion`; call the returned function when it closes. */
  onOpen(httpVersion: string): () => void {
    this.opened.push(httpVersion);
    this.open++;
    this.notify();
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      this.open--;
      this.notify();
    };
  }

  /** Streams open now. */
  get openNow(): number {
    return this.open;
  }

  /** Resolves once `count` streams were opened in all; fails after `timeoutMs`. */
  whenOpened(count: number, timeoutMs = 15_000): Promise<void> {
    const opened = new Promise<void>((resolve) => {
      const check = () => {
        if (this.opened.length < count) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
      check();
    });
    return within(opened, timeoutMs, `${count} streams to open (${this.opened.length} before)`);
  }

  private notify(): void {
    for (const waiter of this.waiters) waiter();
  }
}

import { Injectable } from '@nestjs/common';
import { Subject } from 'rxjs';

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

  /** Resolves once `count` streams were opened in all (fails after `timeoutMs`, with the counts). */
  whenOpened(count: number, timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.opened.length >= count) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `${this.opened.length} of ${count} streams opened after ${timeoutMs} ms ` +
              `(${this.open} open now)`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  private notify(): void {
    for (const waiter of this.waiters) waiter();
  }
}

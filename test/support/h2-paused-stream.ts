import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { once } from 'node:events';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';

/**
 * A stream on an HTTP/2 session of the test's that reads nothing until {@link resume}: with a
 * small `initialWindowSize` on its session, the server's writes to it soon wait on flow control,
 * while its siblings on the same session keep flowing.
 */
export class H2PausedStream {
  readonly events: EventSourceMessage[] = [];
  /** The RST_STREAM code once the stream closed (8 = CANCEL), 0 for a clean end. */
  rstCode?: number;
  readonly closed: Promise<void>;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly stream: ClientHttp2Stream) {
    const parser = createParser({
      onEvent: (event) => {
        this.events.push(event);
        this.notify();
      },
    });
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => parser.feed(chunk));
    stream.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      stream.once('close', () => {
        this.rstCode = stream.rstCode;
        this.notify();
        resolve();
      }),
    );
  }

  static async open(session: ClientHttp2Session, path: string): Promise<H2PausedStream> {
    const stream = session.request({ ':path': path, accept: 'text/event-stream' });
    stream.pause();
    const paused = new H2PausedStream(stream);
    await once(stream, 'response');
    return paused;
  }

  resume(): void {
    this.stream.resume();
  }

  /** Resolves once `predicate` holds; rejects if the stream closes first or after `timeoutMs`. */
  waitFor(predicate: (stream: this) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(this)) {
          done();
          resolve();
        } else if (this.rstCode !== undefined) {
          done();
          reject(new Error(`the stream closed (rst ${this.rstCode}) before ${what}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${what}: not within ${timeoutMs} ms (${this.events.length} events)`));
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

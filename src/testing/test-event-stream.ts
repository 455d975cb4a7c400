import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { type IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { http1Channel } from './http1-channel.js';

/** An event as a browser's EventSource would see it (parsed by `eventsource-parser`). */
export type ParsedEvent = EventSourceMessage;

/**
 * One response as {@link TestEventStream} reads it, whatever carried it (an HTTP/1.1 response or
 * an HTTP/2 stream). Made by `openEventStream`; exported for helpers that open streams their own way.
 */
export interface ResponseChannel {
  /** The HTTP version the response came over. */
  readonly protocol: '1.1' | '2';
  readonly status: number;
  /** The response headers, lower-cased, without HTTP/2 pseudo-headers. */
  readonly headers: IncomingHttpHeaders;
  /** The body: `data`, then `end` if the server ended it, then `close` in every case. */
  readonly body: Readable;
  /** The RST_STREAM code once an HTTP/2 stream was reset, by either side (8 is CANCEL). */
  readonly resetCode: number | undefined;
  /** Disconnects; resolves once everything the channel opened is closed. */
  cancel(): Promise<void>;
}

/**
 * One stream opened against a test server, read the way a browser reads it, over HTTP/1.1 or
 * HTTP/2 alike. Every wait fails with a clear message after `timeoutMs`, never hangs.
 *
 * @example
 * ```ts
 * const stream = await openEventStream(app, { path: '/prices' });
 * const [first, second] = await stream.take(2);
 * await stream.close();
 * ```
 */
export class TestEventStream {
  /** Every event parsed so far, in order. */
  readonly events: ParsedEvent[] = [];
  /** Every comment line's text so far (heartbeats among them). */
  readonly comments: string[] = [];
  /** The last `retry:` hint received. */
  retry?: number;
  /** Everything received, as text. */
  raw = '';
  /** True once the server ended the response (not when {@link close} was called, nor on a reset). */
  endedByServer = false;

  private readonly waiters = new Set<() => void>();
  private readonly timeoutMs: number;
  private taken = 0;
  private isClosed = false;

  private readonly channel: ResponseChannel;

  /** `source` is an HTTP/1.1 response a test requested itself, or any {@link ResponseChannel}. */
  constructor(source: ResponseChannel | IncomingMessage, timeoutMs: number) {
    const channel = source instanceof IncomingMessage ? http1Channel(source) : source;
    this.channel = channel;
    this.timeoutMs = timeoutMs;
    const parser = createParser({
      onEvent: (event) => {
        this.events.push(event);
        this.notify();
      },
      onComment: (comment) => {
        this.comments.push(comment);
        this.notify();
      },
      onRetry: (retry) => {
        this.retry = retry;
        this.notify();
      },
    });
    const body = channel.body;
    body.setEncoding('utf8');
    body.on('data', (chunk: string) => {
      this.raw += chunk;
      parser.feed(chunk);
    });
    body.once('end', () => {
      this.endedByServer = true;
    });
    // A cut connection or a reset stream errors; the end of the stream is what the tests observe.
    body.on('error', () => undefined);
    body.once('close', () => {
      // Node's HTTP/2 client ends the body of a reset stream too: only the code tells them apart.
      if (channel.resetCode !== undefined) this.endedByServer = false;
      this.isClosed = true;
      this.notify();
    });
  }

  /** The HTTP version the stream came over: `'1.1'` or `'2'`. */
  get protocol(): '1.1' | '2' {
    return this.channel.protocol;
  }

  /** The status the server answered with. */
  get status(): number {
    return this.channel.status;
  }

  /** The response headers (lower-cased; on HTTP/2 without the `:status` pseudo-header). */
  get headers(): IncomingHttpHeaders {
    return this.channel.headers;
  }

  /**
   * The RST_STREAM code once this HTTP/2 stream was reset (8: CANCEL; by the server, or by
   * {@link close}), else `undefined`.
   */
  get resetCode(): number | undefined {
    return this.channel.resetCode;
  }

  /** True once the stream is over, whoever ended it. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Resolves once at least `count` events arrived in all; fails if the stream ends first. */
  async waitForEvents(count: number): Promise<ParsedEvent[]> {
    await this.until(() => this.events.length >= count, `${count} event(s)`);
    return this.events.slice(0, count);
  }

  /** The next `count` events not yet returned by `take`. */
  async take(count = 1): Promise<ParsedEvent[]> {
    const from = this.taken;
    await this.waitForEvents(from + count);
    this.taken = from + count;
    return this.events.slice(from, from + count);
  }

  /** Resolves once `predicate` holds for what was received (e.g. a heartbeat comment). */
  async waitFor(predicate: (stream: this) => boolean, what = 'the condition'): Promise<void> {
    await this.until(() => predicate(this), what);
  }

  /** Resolves when the server ends the stream. */
  async waitForEnd(): Promise<void> {
    await this.until(() => this.isClosed, 'the end of the stream', true);
    if (!this.endedByServer) {
      const how = this.resetCode === undefined ? 'cut' : `reset (code ${this.resetCode})`;
      throw new Error(
        `The stream was ${how} instead of ended by the server. Received:\n${this.raw}`,
      );
    }
  }

  /** Resolves once the stream is over, ended, cut or reset by the server alike. */
  async waitForClose(): Promise<void> {
    await this.until(() => this.isClosed, 'the close of the stream', true);
  }

  /**
   * Disconnects, as a browser tab that closes does (HTTP/2: RST_STREAM CANCEL), and resolves once
   * the connection (or, on a session of the test's own, the stream) is closed.
   */
  async close(): Promise<void> {
    await this.channel.cancel();
  }

  private notify(): void {
    for (const waiter of this.waiters) waiter();
  }

  private until(done: () => boolean, what: string, closeIsDone = false): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (done()) {
          finish();
          resolve();
        } else if (this.isClosed && !closeIsDone) {
          finish();
          reject(new Error(`The stream closed before ${what} arrived. Received:\n${this.raw}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(
            `Timed out after ${this.timeoutMs} ms waiting for ${what}. Received:\n${this.raw}`,
          ),
        );
      }, this.timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }
}

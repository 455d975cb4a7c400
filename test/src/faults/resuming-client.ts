import {
  openEventStream,
  type ParsedEvent,
  type ServerLike,
  type TestEventStream,
} from '../../../src/testing/index.js';

/** How many times a client reconnects before it gives up, as a test must end. */
const MAX_RECONNECTS = 5;

/**
 * A client that behaves as a browser's EventSource does when the server ends its stream: it
 * reconnects with the id of the last event it received as `Last-Event-ID`, and what it received
 * is one list across its connections. A stream the server keeps open is simply read.
 *
 * @example
 * ```ts
 * const client = await ResumingClient.open(app, '/feed');
 * const events = await client.waitForEvents(10);
 * await client.close();
 * ```
 */
export class ResumingClient {
  /** The Last-Event-ID of each reconnection, in order. */
  readonly reconnections: Array<string | undefined> = [];
  private readonly previous: ParsedEvent[] = [];

  private constructor(
    private readonly server: ServerLike,
    private readonly path: string,
    private readonly timeoutMs: number,
    private current: TestEventStream,
  ) {}

  static async open(server: ServerLike, path: string, timeoutMs: number): Promise<ResumingClient> {
    const stream = await openEventStream(server, { path, timeoutMs });
    return new ResumingClient(server, path, timeoutMs, stream);
  }

  /** Every event received, over all connections. */
  get events(): ParsedEvent[] {
    return [...this.previous, ...this.current.events];
  }

  /** The connection open now. */
  get stream(): TestEventStream {
    return this.current;
  }

  /** Resolves once `count` events arrived in all; reconnects when the server ends the stream. */
  async waitForEvents(count: number): Promise<ParsedEvent[]> {
    await this.onCurrent((stream) => stream.waitForEvents(count - this.previous.length));
    return this.events.slice(0, count);
  }

  /** Resolves at the next heartbeat comment (of this or of the next connection). */
  async nextHeartbeat(): Promise<void> {
    let stream = this.current;
    let seen = stream.comments.length;
    await this.onCurrent((current) => {
      if (current !== stream) {
        stream = current;
        seen = 0;
      }
      return current.waitFor((s) => s.comments.length > seen, 'a heartbeat');
    });
  }

  async close(): Promise<void> {
    await this.current.close();
  }

  private async onCurrent(wait: (stream: TestEventStream) => Promise<unknown>): Promise<void> {
    for (;;) {
      const stream = this.current;
      const failure = await wait(stream).then(
        () => undefined,
        (error: unknown) => error,
      );
      if (failure === undefined) return;
      if (!stream.endedByServer || this.reconnections.length >= MAX_RECONNECTS) throw failure;
      this.previous.push(...stream.events);
      const lastEventId = this.previous.findLast((event) => event.id !== undefined)?.id;
      this.reconnections.push(lastEventId);
      this.current = await openEventStream(this.server, {
        path: this.path,
        timeoutMs: this.timeoutMs,
        headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId },
      });
    }
  }
}

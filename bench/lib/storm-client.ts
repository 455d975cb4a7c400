import { connect, type Socket } from 'node:net';
import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser';

/** µs of the monotonic clock, which every process of the machine shares. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** What an `EventSource` waits before reconnecting when the server sent no `retry:`. */
const DEFAULT_RETRY_MS = 3000;
/** Connection attempts after the first (refused, a status other than 200, cut before a head). */
const MAX_ATTEMPTS = 20;
const LF = 0x0a;

/** What every client of one storm shares: where it reconnects to, and the channels' shape. */
export interface StormPlan {
  /** Instance B: every reconnection goes there (a load balancer would send it there). */
  reconnectPort: number;
  /** Events go round-robin over this many channels: seq `s` is on channel `s mod channels`. */
  channels: number;
}

/**
 * One `EventSource`, as the browser's behaves, on a raw HTTP/1.1 socket: the response is
 * de-chunked and parsed with `eventsource-parser`; when it ends (the server's end of the body
 * or of the socket), the client waits for the last `retry:` the server sent and reconnects with
 * `Last-Event-ID` set to the last id it received. It checks that it receives every event of its
 * channel once and in order over its whole life: seq `channel`, `channel + channels`, …
 */
export class StormClient {
  readonly channel: number;
  /** The next seq expected on this channel. */
  next: number;
  lastId: string | undefined;
  retryMs = DEFAULT_RETRY_MS;
  events = 0;
  lost = 0;
  duplicated = 0;
  /** Events whose id differs from the first id the load generator saw for that seq. */
  idMismatches = 0;
  connections = 0;
  failedAttempts = 0;
  /** When the first stream ended (the server closed it), and with which `retry:` in force. */
  endedAt = 0;
  retryAtEnd = 0;
  /** The reconnection: when it started, its head, and the first event it delivered. */
  reconnectAt = 0;
  reconnectedAt = 0;
  resumedAt = 0;
  status = 0;
  gaveUp = false;
  stopped = false;

  private socket: Socket | undefined;
  private parser: EventSourceParser;
  private decoder = new TextDecoder();
  private head: string | undefined = '';
  private chunkLeft = -1;
  private sizeText = '';
  private afterChunk = false;
  private timer: NodeJS.Timeout | undefined;
  private headWaiter: ((status: number) => void) | undefined;

  constructor(
    port: number,
    index: number,
    private readonly plan: StormPlan,
    /** seq → the first id seen for it, shared by every client: one id per event. */
    private readonly idOf: Map<number, string>,
  ) {
    this.channel = index % plan.channels;
    this.next = this.channel;
    this.parser = createParser({
      onEvent: (event) => this.onEvent(event),
      onRetry: (ms) => (this.retryMs = ms),
    });
    this.open(port);
  }

  /** Resolves with the status of the first response (0: the connection failed first). */
  firstHead(): Promise<number> {
    if (this.status !== 0 || this.connections > 1 || this.endedAt !== 0) {
      return Promise.resolve(this.status);
    }
    return new Promise((resolve) => (this.headWaiter = resolve));
  }

  get onB(): boolean {
    return this.reconnectedAt !== 0;
  }

  /** Whether it received everything up to `lastSeq` (the last one published). */
  caughtUp(lastSeq: number): boolean {
    // The last seq of this channel at or below lastSeq.
    const last = lastSeq - ((lastSeq - this.channel + this.plan.channels) % this.plan.channels);
    return this.next > last;
  }

  /** Events of its channel up to `lastSeq` it never received (counted once it is over). */
  missingUpTo(lastSeq: number): number {
    const last = lastSeq - ((lastSeq - this.channel + this.plan.channels) % this.plan.channels);
    return Math.max(0, (last - this.next) / this.plan.channels + 1);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.destroy();
  }

  private open(port: number): void {
    this.connections++;
    this.head = '';
    this.chunkLeft = -1;
    this.sizeText = '';
    this.afterChunk = false;
    this.decoder = new TextDecoder();
    this.parser.reset();
    let ended = false;
    const socket = connect({ port, host: '127.0.0.1' });
    this.socket = socket;
    socket.write(
      `GET /events?ch=ch${this.channel} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        'Accept: text/event-stream\r\nCache-Control: no-cache\r\n' +
        (this.lastId === undefined ? '' : `Last-Event-ID: ${this.lastId}\r\n`) +
        '\r\n',
    );
    const end = () => {
      if (ended) return;
      ended = true;
      socket.destroy();
      this.onEnd();
    };
    socket.on('data', (bytes: Buffer) => {
      if (!ended && this.push(bytes)) end();
    });
    socket.on('error', () => undefined);
    socket.on('close', end);
  }

  /** Feeds a socket read; true once the response is over (its last chunk). */
  private push(bytes: Buffer): boolean {
    let body = bytes;
    if (this.head !== undefined) {
      this.head += bytes.toString('latin1');
      const at = this.head.indexOf('\r\n\r\n');
      if (at === -1) return false;
      const head = this.head.slice(0, at);
      const rest = this.head.slice(at + 4);
      this.head = undefined;
      this.status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      this.headWaiter?.(this.status);
      this.headWaiter = undefined;
      if (this.status !== 200) return true;
      if (this.connections > 1 && this.reconnectedAt === 0) this.reconnectedAt = monotonicUs();
      // Every benchmarked server streams with chunked transfer coding.
      if (!/\r\ntransfer-encoding:[ \t]*chunked/i.test(head)) return true;
      body = Buffer.from(rest, 'latin1');
    }
    let i = 0;
    while (i < body.length) {
      if (this.afterChunk) {
        const lf = body.indexOf(LF, i);
        if (lf === -1) return false;
        i = lf + 1;
        this.afterChunk = false;
      } else if (this.chunkLeft <= 0) {
        const lf = body.indexOf(LF, i);
        if (lf === -1) {
          this.sizeText += body.toString('latin1', i);
          return false;
        }
        const size = parseInt(this.sizeText + body.toString('latin1', i, lf), 16);
        this.sizeText = '';
        i = lf + 1;
        if (size === 0) return true;
        this.chunkLeft = size;
      } else {
        const n = Math.min(this.chunkLeft, body.length - i);
        this.parser.feed(this.decoder.decode(body.subarray(i, i + n), { stream: true }));
        i += n;
        this.chunkLeft -= n;
        if (this.chunkLeft === 0) this.afterChunk = true;
      }
    }
    return false;
  }

  private onEvent(event: EventSourceMessage): void {
    // Named events (a `reset`, a shutdown event) are not the channel's: a reset would be a
    // gap the hub owns up to, which the seq check counts anyway.
    if (event.event !== undefined) return;
    if (event.id !== undefined) this.lastId = event.id;
    const seq = parseInt(event.data, 10);
    this.events++;
    if (seq === this.next) {
      this.next += this.plan.channels;
    } else if (seq > this.next) {
      this.lost += (seq - this.next) / this.plan.channels;
      this.next = seq + this.plan.channels;
    } else {
      this.duplicated++;
    }
    const known = this.idOf.get(seq);
    if (known === undefined) this.idOf.set(seq, event.id ?? '');
    else if (known !== event.id) this.idMismatches++;
    if (this.onB && this.resumedAt === 0) this.resumedAt = monotonicUs();
  }

  private onEnd(): void {
    if (this.stopped) return;
    const gotStream = this.status === 200;
    if (this.endedAt === 0 && gotStream) {
      this.endedAt = monotonicUs();
      this.retryAtEnd = this.retryMs;
    }
    if (!gotStream || (this.connections > 1 && this.reconnectedAt === 0)) this.failedAttempts++;
    if (this.failedAttempts > MAX_ATTEMPTS) {
      this.gaveUp = true;
      return;
    }
    if (this.endedAt === 0) {
      // The first connection failed: not part of the storm (the load generator reports it).
      this.headWaiter?.(0);
      this.headWaiter = undefined;
      return;
    }
    this.status = 0;
    this.timer = setTimeout(() => {
      if (this.reconnectAt === 0) this.reconnectAt = monotonicUs();
      this.open(this.plan.reconnectPort);
    }, this.retryMs);
  }
}

import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { connect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';

/**
 * A stream client on a bare TCP socket that starts paused: it sends its request and reads
 * nothing until {@link resume} — a client whose network or tab stopped reading, which leaves
 * the server's writes in the kernel's buffers and then in the server's own.
 *
 * Once resumed, it parses the HTTP/1.1 response (chunked body) and its events with
 * `eventsource-parser`, as a browser would.
 */
export class RawEventStream {
  readonly events: EventSourceMessage[] = [];
  readonly comments: string[] = [];
  retry?: number;
  status?: number;
  headers = new Map<string, string>();
  /** Bytes of the response body received so far (after de-chunking). */
  bodyBytes = 0;
  /** True once the last chunk arrived: the server ended the response (not cut it). */
  bodyComplete = false;
  isClosed = false;
  readonly closed: Promise<void>;

  private head = Buffer.alloc(0);
  private pending = Buffer.alloc(0);
  /** > 0: data bytes left in the chunk; -1: a size line is next; -2: the CRLF after data. */
  private chunkLeft = -1;
  private chunked = false;
  private readonly decoder = new StringDecoder('utf8');
  private readonly parser = createParser({
    onEvent: (event) => this.events.push(event),
    onComment: (comment) => this.comments.push(comment),
    onRetry: (retry) => (this.retry = retry),
  });
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.notify();
        resolve();
      }),
    );
    socket.on('error', () => undefined);
    socket.on('data', (data: Buffer) => {
      this.receive(data);
      this.notify();
    });
  }

  /**
   * Connects, sends `GET path` asking for a stream, and resolves once the request is sent. An
   * HTTP/1.0 request gets a body without chunks, ended by the server closing the connection.
   */
  static open(
    port: number,
    path: string,
    headers: Record<string, string> = {},
    httpVersion: '1.0' | '1.1' = '1.1',
  ): Promise<RawEventStream> {
    const socket = connect({ host: '127.0.0.1', port });
    // Paused before any listener: the socket never reads until resume().
    socket.pause();
    const stream = new RawEventStream(socket);
    const lines = [
      `GET ${path} HTTP/${httpVersion}`,
      `Host: 127.0.0.1:${port}`,
      'Accept: text/event-stream',
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`, () => {
        socket.off('error', reject);
        resolve(stream);
      });
    });
  }

  resume(): void {
    this.socket.resume();
  }

  /** Resolves once `predicate` holds; fails if the socket closes first, or after `timeoutMs`. */
  waitFor(predicate: (stream: this) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(this)) {
          finish();
          resolve();
        } else if (this.isClosed) {
          finish();
          reject(new Error(`The socket closed before ${what} (${this.summary()})`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(`Timed out after ${timeoutMs} ms waiting for ${what} (${this.summary()})`),
        );
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** Disconnects, and resolves once the socket is closed. */
  async destroy(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }

  private summary(): string {
    const last = this.events.at(-1);
    return `status ${this.status}, ${this.events.length} event(s), last id ${last?.id}, ${this.bodyBytes} body bytes`;
  }

  private notify(): void {
    for (const waiter of this.waiters) waiter();
  }

  private receive(data: Buffer): void {
    if (this.status === undefined) {
      this.head = Buffer.concat([this.head, data]);
      const end = this.head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const [statusLine, ...headerLines] = this.head.toString('latin1', 0, end).split('\r\n');
      this.status = Number(statusLine!.split(' ')[1]);
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        this.headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      this.chunked = this.headers.get('transfer-encoding') === 'chunked';
      data = this.head.subarray(end + 4);
      this.head = Buffer.alloc(0);
    }
    if (this.chunked) {
      this.dechunk(data);
    } else {
      this.body(data);
    }
  }

  private dechunk(data: Buffer): void {
    const buffer = this.pending.length > 0 ? Buffer.concat([this.pending, data]) : data;
    let offset = 0;
    while (offset < buffer.length && !this.bodyComplete) {
      if (this.chunkLeft > 0) {
        const size = Math.min(this.chunkLeft, buffer.length - offset);
        this.body(buffer.subarray(offset, offset + size));
        offset += size;
        this.chunkLeft -= size;
        if (this.chunkLeft === 0) this.chunkLeft = -2;
        continue;
      }
      const lineEnd = buffer.indexOf('\r\n', offset);
      if (lineEnd === -1) break;
      if (this.chunkLeft === -2) {
        this.chunkLeft = -1;
      } else {
        const size = Number.parseInt(buffer.toString('latin1', offset, lineEnd), 16);
        if (size === 0) this.bodyComplete = true;
        else this.chunkLeft = size;
      }
      offset = lineEnd + 2;
    }
    this.pending = Buffer.from(buffer.subarray(offset));
  }

  private body(data: Buffer): void {
    this.bodyBytes += data.length;
    this.parser.feed(this.decoder.write(data));
  }
}

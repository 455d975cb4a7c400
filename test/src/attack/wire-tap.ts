import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { connect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';

/** One HTTP response read off the socket, byte for byte. */
export interface TappedResponse {
  status: number;
  headers: Map<string, string>;
  chunked: boolean;
  /** Sizes of the chunks, in order (a 0 is the last chunk). */
  chunkSizes: number[];
  events: EventSourceMessage[];
  comments: string[];
  retry?: number;
  bodyBytes: number;
  /** Bytes after gunzip, when the tap gunzips. */
  decodedBytes?: number;
  /** True once the last chunk arrived (or, close-delimited, once the socket closed). */
  complete: boolean;
}

/**
 * A hostile client on a bare TCP socket: it sends whatever request bytes it is given (several
 * pipelined requests, HTTP/1.0, odd headers), starts paused if asked, and reads every response
 * on the connection strictly: each chunk's size line, the CRLF after its data, nothing after a
 * response but the next response. Any deviation is recorded in {@link violations}, never
 * tolerated. Events are parsed with `eventsource-parser`, the oracle.
 */
export class WireTap {
  readonly responses: TappedResponse[] = [];
  readonly violations: string[] = [];
  totalBytes = 0;
  isClosed = false;
  readonly closed: Promise<void>;

  private buffer: Buffer = Buffer.alloc(0);
  private current?: {
    response: TappedResponse;
    decoder: StringDecoder;
    parser: ReturnType<typeof createParser>;
    /** > 0: chunk bytes left; -1: a size line next; -2: the CRLF after a chunk's data. */
    left: number;
    gunzip?: ReturnType<typeof createGunzip>;
  };
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        const current = this.current;
        if (current !== undefined && !current.response.chunked) current.response.complete = true;
        this.notify();
        resolve();
      }),
    );
    socket.on('error', () => undefined);
    socket.on('data', (data: Buffer) => {
      this.totalBytes += data.length;
      this.receive(data);
      this.notify();
    });
  }

  /** Bodies are gunzipped before parsing (a `Content-Encoding: gzip` response). */
  gunzip = false;

  /** Connects and writes `request` (raw bytes). Paused clients read nothing until resume(). */
  static async open(
    port: number,
    request: string,
    { paused = false, gunzip = false }: { paused?: boolean; gunzip?: boolean } = {},
  ): Promise<WireTap> {
    const socket = connect({ host: '127.0.0.1', port });
    if (paused) socket.pause();
    const tap = new WireTap(socket);
    tap.gunzip = gunzip;
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.write(request, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return tap;
  }

  /** A GET asking for a stream. */
  static get(path: string, port: number, extra: Record<string, string> = {}, version = '1.1') {
    const lines = [
      `GET ${path} HTTP/${version}`,
      `Host: 127.0.0.1:${port}`,
      'Accept: text/event-stream',
      ...Object.entries(extra).map(([name, value]) => `${name}: ${value}`),
    ];
    return `${lines.join('\r\n')}\r\n\r\n`;
  }

  get first(): TappedResponse | undefined {
    return this.responses[0];
  }

  resume(): void {
    this.socket.resume();
  }

  /** Resolves once `predicate` holds; rejects if the socket closes first or after a deadline. */
  waitFor(predicate: (tap: this) => boolean, what: string, timeoutMs = 8000): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(this)) {
          finish();
          resolve();
        } else if (this.isClosed) {
          finish();
          reject(new Error(`socket closed before ${what} (${this.summary()})`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out waiting for ${what} (${this.summary()})`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  async destroy(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }

  summary(): string {
    return this.responses
      .map(
        (r, i) =>
          `#${i} ${r.status} ${r.events.length} events ${r.bodyBytes} B complete=${r.complete}`,
      )
      .join('; ')
      .concat(` | ${this.totalBytes} B | violations: ${this.violations.join(', ') || 'none'}`);
  }

  private notify(): void {
    for (const waiter of this.waiters) waiter();
  }

  private receive(data: Buffer): void {
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    while (this.buffer.length > 0) {
      if (this.current === undefined) {
        if (!this.readHead()) return;
        continue;
      }
      if (!this.readBody()) return;
    }
  }

  private readHead(): boolean {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end === -1) {
      const start = this.buffer.toString('latin1', 0, Math.min(5, this.buffer.length));
      if (!'HTTP/'.startsWith(start)) {
        const text = this.buffer.toString('latin1', 0, 40);
        this.violations.push(`bytes that are not a response: ${JSON.stringify(text)}`);
        this.buffer = Buffer.alloc(0);
      }
      return false;
    }
    const [statusLine, ...lines] = this.buffer.toString('latin1', 0, end).split('\r\n');
    this.buffer = this.buffer.subarray(end + 4);
    if (!/^HTTP\/1\.[01] \d{3}/.test(statusLine!)) {
      this.violations.push(`not a status line: ${JSON.stringify(statusLine!.slice(0, 40))}`);
    }
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const response: TappedResponse = {
      status: Number(statusLine!.split(' ')[1]),
      headers,
      chunked: headers.get('transfer-encoding') === 'chunked',
      chunkSizes: [],
      events: [],
      comments: [],
      bodyBytes: 0,
      complete: false,
    };
    this.responses.push(response);
    const parser = createParser({
      onEvent: (event) => response.events.push(event),
      onComment: (comment) => response.comments.push(comment),
      onRetry: (retry) => (response.retry = retry),
      onError: (error) => this.violations.push(`parser: ${error.message}`),
    });
    const length = headers.get('content-length');
    if (!response.chunked && length !== undefined) {
      // A fixed-length body (a plain route, a refusal): read it whole.
      this.current = { response, decoder: new StringDecoder('utf8'), parser, left: Number(length) };
      if (Number(length) === 0) this.finishResponse();
      return true;
    }
    this.current = { response, decoder: new StringDecoder('utf8'), parser, left: -1 };
    if (this.gunzip && headers.get('content-encoding') === 'gzip') {
      const gunzip = createGunzip();
      const decoder = new StringDecoder('utf8');
      gunzip.on('data', (data: Buffer) => {
        response.decodedBytes = (response.decodedBytes ?? 0) + data.length;
        parser.feed(decoder.write(data));
        this.notify();
      });
      gunzip.on('error', (error) => this.violations.push(`gunzip: ${error.message}`));
      this.current.gunzip = gunzip;
    }
    return true;
  }

  private readBody(): boolean {
    const current = this.current!;
    const { response } = current;
    if (!response.chunked) {
      const length = response.headers.get('content-length');
      if (length === undefined) {
        // Close-delimited (HTTP/1.0): everything until the close is body.
        this.body(this.buffer);
        this.buffer = Buffer.alloc(0);
        return false;
      }
      const take = Math.min(current.left, this.buffer.length);
      this.body(this.buffer.subarray(0, take));
      this.buffer = this.buffer.subarray(take);
      current.left -= take;
      if (current.left === 0) this.finishResponse();
      return current.left === 0;
    }
    if (current.left > 0) {
      const take = Math.min(current.left, this.buffer.length);
      this.body(this.buffer.subarray(0, take));
      this.buffer = this.buffer.subarray(take);
      current.left -= take;
      if (current.left === 0) current.left = -2;
      return this.buffer.length > 0;
    }
    if (current.left === -3) {
      if (this.buffer.length < 2) return false;
      this.endTrailer();
      return true;
    }
    if (current.left === -2) {
      if (this.buffer.length < 2) return false;
      if (this.buffer[0] !== 0x0d || this.buffer[1] !== 0x0a) {
        this.violations.push('chunk data not followed by CRLF');
      }
      this.buffer = this.buffer.subarray(2);
      current.left = -1;
      return true;
    }
    const lineEnd = this.buffer.indexOf('\r\n');
    if (lineEnd === -1) return false;
    const line = this.buffer.toString('latin1', 0, lineEnd);
    this.buffer = this.buffer.subarray(lineEnd + 2);
    if (!/^[0-9a-f]+$/i.test(line)) {
      this.violations.push(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
      return true;
    }
    const size = Number.parseInt(line, 16);
    response.chunkSizes.push(size);
    if (size === 0) {
      // The last chunk: an empty trailer section, then the next response (if any).
      if (this.buffer.length < 2) {
        current.left = -3;
        return false;
      }
      this.endTrailer();
      return true;
    }
    current.left = size;
    return true;
  }

  private endTrailer(): void {
    if (this.buffer[0] !== 0x0d || this.buffer[1] !== 0x0a) {
      this.violations.push('last chunk not followed by CRLF');
    }
    this.buffer = this.buffer.subarray(2);
    this.finishResponse();
  }

  private finishResponse(): void {
    const current = this.current!;
    current.response.complete = true;
    this.current = undefined;
  }

  private body(data: Buffer): void {
    const current = this.current!;
    current.response.bodyBytes += data.length;
    if (current.gunzip !== undefined) current.gunzip.write(data);
    else current.parser.feed(current.decoder.write(data));
  }
}

import { createParser, type EventSourceMessage } from 'eventsource-parser';
import {
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** Something that has (or is) a Node HTTP server: an `INestApplication` or `app.getHttpServer()`. */
export type ServerLike = Server | { getHttpServer(): unknown };

/** How {@link openEventStream} requests the stream. */
export interface OpenEventStreamOptions {
  /** Path and query. @default '/' */
  path?: string;
  /** @default 'GET' */
  method?: string;
  /** Sent as is; `Accept: text/event-stream` is added unless given. */
  headers?: Record<string, string>;
  /** A request body; objects are sent as JSON. */
  body?: string | object;
  /** How long any wait may take before it fails. @default 5000 */
  timeoutMs?: number;
}

/** An event as a browser's EventSource would see it (parsed by `eventsource-parser`). */
export type ParsedEvent = EventSourceMessage;

/**
 * One stream opened against a test server, read the way a browser reads it. Every wait fails
 * with a clear message after `timeoutMs`, never hangs.
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
  /** True once the server ended the response (not when {@link close} was called). */
  endedByServer = false;

  private readonly waiters = new Set<() => void>();
  private readonly closedPromise: Promise<void>;
  private readonly timeoutMs: number;
  private taken = 0;
  private isClosed = false;

  constructor(
    private readonly response: IncomingMessage,
    timeoutMs: number,
  ) {
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
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this.raw += chunk;
      parser.feed(chunk);
    });
    this.closedPromise = new Promise((resolve) => {
      response.once('end', () => {
        this.endedByServer = true;
      });
      response.once('close', () => {
        this.isClosed = true;
        this.notify();
        resolve();
      });
    });
  }

  /** The status the server answered with. */
  get status(): number {
    return this.response.statusCode ?? 0;
  }

  /** The response headers. */
  get headers(): IncomingHttpHeaders {
    return this.response.headers;
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
      throw new Error(`The stream was cut instead of ended by the server. Received:\n${this.raw}`);
    }
  }

  /** Disconnects, as a browser tab that closes does, and resolves once the socket is closed. */
  async close(): Promise<void> {
    this.response.destroy();
    await this.closedPromise;
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

/**
 * Opens a stream on a test server (listening on an ephemeral port if it is not yet) and resolves
 * once the response headers arrived, whatever the status.
 *
 * @example
 * ```ts
 * const app = moduleRef.createNestApplication();
 * await app.init();
 * const stream = await openEventStream(app, { path: '/' });
 * expect(stream.headers['content-type']).toBe('text/event-stream');
 * ```
 */
export async function openEventStream(
  server: ServerLike,
  options: OpenEventStreamOptions = {},
): Promise<TestEventStream> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const port = await listeningPort(toServer(server));
  const body =
    options.body === undefined || typeof options.body === 'string'
      ? options.body
      : JSON.stringify(options.body);
  const headers: Record<string, string> = {
    accept: 'text/event-stream',
    ...lowerCaseKeys(options.headers),
  };
  if (
    body !== undefined &&
    typeof options.body === 'object' &&
    headers['content-type'] === undefined
  ) {
    headers['content-type'] = 'application/json';
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path: options.path ?? '/',
      method: options.method ?? 'GET',
      headers,
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(
        new Error(
          `Timed out after ${timeoutMs} ms waiting for the response headers of ${options.path ?? '/'}`,
        ),
      );
    }, timeoutMs);
    req.once('response', (response) => {
      clearTimeout(timer);
      resolve(new TestEventStream(response, timeoutMs));
    });
    req.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body);
  });
}

/**
 * Opens a stream, collects `count` events, disconnects, and returns them with the raw bytes.
 *
 * @example
 * ```ts
 * const { events } = await collectEvents(app, { path: '/', count: 2 });
 * expect(events.map((e) => e.data)).toEqual(['hello', 'hello']);
 * ```
 */
export async function collectEvents(
  server: ServerLike,
  options: OpenEventStreamOptions & { count: number },
): Promise<{ events: ParsedEvent[]; raw: string; status: number; headers: IncomingHttpHeaders }> {
  const stream = await openEventStream(server, options);
  try {
    const events = await stream.waitForEvents(options.count);
    return { events, raw: stream.raw, status: stream.status, headers: stream.headers };
  } finally {
    await stream.close();
  }
}

function toServer(server: ServerLike): Server {
  return (
    typeof (server as { getHttpServer?: unknown }).getHttpServer === 'function'
      ? (server as { getHttpServer(): unknown }).getHttpServer()
      : server
  ) as Server;
}

async function listeningPort(server: Server): Promise<number> {
  if (!server.listening) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }
  return (server.address() as AddressInfo).port;
}

function lowerCaseKeys(headers: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]),
  );
}

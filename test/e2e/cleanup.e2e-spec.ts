import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEventStream } from '../../src/testing/index.js';
import { CleanupProbe } from '../src/cleanup/cleanup-probe.js';
import { CleanupModule } from '../src/cleanup/cleanup.module.js';

// Cleanup is proven from outside the library: the fixture's own finalize counter, Node's list of
// active timers and sockets, and the HTTP server's connection count, each compared with where
// it stood before the first connection.

const CYCLES = 200;
const PARALLEL = 10;

/** How one cycle disconnects. */
type Disconnect =
  | 'helper' // openEventStream, one event, stream.close()
  | 'helper-before-event' // openEventStream, stream.close() as soon as the headers arrived
  | 'raw-destroy' // a bare TCP socket, one event, then dropped (FIN)
  | 'raw-reset'; // a bare TCP socket, one event, then reset (RST)

const DISCONNECTS: Disconnect[] = [
  'helper',
  'raw-destroy',
  'helper',
  'raw-reset',
  'helper-before-event',
];

/** The server's side of every TCP connection, followed from `connection` to `close`. */
class ServerSockets {
  private readonly open = new Set<Socket>();
  private readonly waiters = new Set<() => void>();

  constructor(server: Server) {
    server.on('connection', (socket: Socket) => {
      this.open.add(socket);
      socket.once('close', () => {
        this.open.delete(socket);
        for (const waiter of this.waiters) waiter();
      });
    });
  }

  /** Resolves once every socket the server accepted has closed. */
  whenAllClosed(timeoutMs = 10_000): Promise<void> {
    if (this.open.size === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.open.size === 0) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.open.size} server socket(s) still open after ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }
}

/** A bare TCP client: it writes bytes and reads bytes, nothing more. */
class RawClient {
  received = Buffer.alloc(0);
  private closed = false;
  private error?: Error;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.notify();
    });
    socket.on('error', (error) => {
      this.error = error;
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  /** Resolves with what `find` returns once it finds something in the bytes received so far. */
  readUntil<T>(find: (bytes: Buffer) => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find(this.received);
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (this.error !== undefined || this.closed) {
          done();
          reject(
            new Error(
              `The connection ${this.error ? `failed (${this.error.message})` : 'closed'} before ` +
                `${what}. Received:\n${this.received.toString('latin1')}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `Timed out after ${timeoutMs} ms waiting for ${what}. Received:\n` +
              this.received.toString('latin1'),
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

  /** Drops the connection the way a killed client does, and resolves once the socket closed. */
  async drop(how: 'destroy' | 'reset'): Promise<void> {
    const closed = this.closed ? Promise.resolve() : once(this.socket, 'close');
    if (how === 'reset') {
      this.socket.resetAndDestroy();
    } else {
      this.socket.destroy();
    }
    await closed;
  }

  private notify(): void {
    for (const waiter of this.waiters) waiter();
  }
}

function streamRequest(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** The index just past the head, once it is complete. */
function headLength(bytes: Buffer): number | undefined {
  const end = bytes.indexOf(HEAD_END);
  return end === -1 ? undefined : end + HEAD_END.length;
}

function countResources(type: string): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === type).length;
}

function connectionCount(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.getConnections((error, count) => (error ? reject(error) : resolve(count)));
  });
}

describe('disconnect cleanup (counted outside the library)', () => {
  let app: INestApplication;
  let server: Server;
  let port: number;
  let probe: CleanupProbe;
  let serverSockets: ServerSockets;

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [CleanupModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    server = app.getHttpServer() as Server;
    port = (server.address() as AddressInfo).port;
    probe = app.get(CleanupProbe);
    serverSockets = new ServerSockets(server);
  });

  afterEach(async () => {
    await app.close();
  });

  async function cycle(disconnect: Disconnect): Promise<void> {
    if (disconnect === 'helper' || disconnect === 'helper-before-event') {
      const stream = await openEventStream(server, { path: '/ticks' });
      expect(stream.status).toBe(200);
      if (disconnect === 'helper') {
        const [event] = await stream.take(1);
        expect(event).toMatchObject({ event: 'tick', id: '0', data: '{"n":0}' });
      }
      await stream.close();
      return;
    }
    const client = await RawClient.connect(port);
    client.socket.write(streamRequest('/ticks'));
    await client.readUntil((bytes) => {
      const body = headLength(bytes);
      return body !== undefined && bytes.indexOf('\n\n', body) !== -1 ? true : undefined;
    }, 'the head and the first frame');
    await client.drop(disconnect === 'raw-reset' ? 'reset' : 'destroy');
  }

  it(`frees every stream's timer and socket after ${CYCLES} connect/abort cycles`, async () => {
    const timeoutsAtStart = countResources('Timeout');
    const socketsAtStart = countResources('TCPSocketWrap');
    const connectionsAtStart = await connectionCount(server);

    let opened = 0;
    for (let round = 0; round < CYCLES / PARALLEL; round++) {
      await Promise.all(
        Array.from({ length: PARALLEL }, async (_, i) => {
          const index = round * PARALLEL + i;
          await cycle(DISCONNECTS[index % DISCONNECTS.length]!);
          opened++;
        }),
      );
    }
    expect(opened).toBe(CYCLES);

    // Wait on the events that end a connection, never on time.
    await probe.whenFinalized(CYCLES);
    await serverSockets.whenAllClosed();

    expect(probe.subscribed).toBe(CYCLES);
    expect(probe.finalized).toBe(CYCLES);
    expect(countResources('Timeout')).toBeLessThanOrEqual(timeoutsAtStart);
    expect(countResources('TCPSocketWrap')).toBe(socketsAtStart);
    expect(await connectionCount(server)).toBe(connectionsAtStart);
  });

  it('writes the head at once, then each event as one chunk of exact bytes, then the end', async () => {
    const client = await RawClient.connect(port);
    client.socket.write(streamRequest('/manual'));

    // The source has emitted nothing yet: the head alone must arrive.
    const headEnd = await client.readUntil(headLength, 'the response head');
    const head = client.received.subarray(0, headEnd).toString('latin1');
    const lines = head.slice(0, -4).split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 200 OK');
    const fields = lines.slice(1).map((line) => {
      const colon = line.indexOf(': ');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 2)] as const;
    });
    // Each header once: no Content-Type written both by Nest and by the module.
    expect(new Set(fields.map(([name]) => name)).size).toBe(fields.length);
    const headers = Object.fromEntries(fields);
    expect(headers.date).toMatch(
      /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/,
    );
    expect({ ...headers, date: '<date>' }).toEqual({
      'x-powered-by': 'Express',
      vary: 'Accept',
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      // Node's own announcement, with its keepAliveTimeout (5 s by default).
      connection: 'keep-alive',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      date: '<date>',
    });
    expect(client.received.length).toBe(headEnd);

    probe.manual.next({ type: 'greeting', id: 'é-1', data: 'line one\r\nline two ✓' });
    const frame = Buffer.from('event: greeting\nid: é-1\ndata: line one\ndata: line two ✓\n\n');
    // The chunk size counts UTF-8 bytes, not UTF-16 units.
    const chunk = Buffer.concat([
      Buffer.from(`${frame.length.toString(16)}\r\n`),
      frame,
      Buffer.from('\r\n'),
    ]);
    const firstChunk = await client.readUntil(
      (bytes) =>
        bytes.length >= headEnd + chunk.length
          ? bytes.subarray(headEnd, headEnd + chunk.length)
          : undefined,
      'the first frame',
    );
    expect(firstChunk.toString('utf8')).toBe(chunk.toString('utf8'));
    expect(firstChunk).toEqual(chunk);

    // Completion ends the response with the last chunk; the keep-alive socket stays usable.
    probe.manual.complete();
    const ending = Buffer.from('0\r\n\r\n');
    const last = await client.readUntil(
      (bytes) =>
        bytes.length >= headEnd + chunk.length + ending.length
          ? bytes.subarray(headEnd + chunk.length)
          : undefined,
      'the end of the response',
    );
    expect(last.toString('latin1')).toBe(ending.toString('latin1'));
    expect(probe.manual.observed).toBe(false);

    await client.drop('destroy');
    await serverSockets.whenAllClosed();
    expect(await connectionCount(server)).toBe(0);
  });
});

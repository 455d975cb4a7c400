import { once } from 'node:events';
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeH2Sessions } from '../../src/platform/node-h2-sessions.js';
import type { NodeH2Port } from '../../src/platform/node-h2.port.js';
import { WireFrame } from '../../src/wire/wire-frame.js';
import { openEventStream, openHttp2Session } from '../../src/testing/index.js';
import { within } from '../support/deadline.js';
import { H2TestServer } from '../support/h2-test-server.js';

// The HTTP/2 stream port against a plain node:http2 server: every stream's port is handed to the
// test, which drives it as the connection will.

/** A node:http2 server whose every request becomes a port the test takes, in order. */
class PortServer {
  readonly warnings: string[] = [];
  readonly owner = new NodeH2Sessions((message) => this.warnings.push(message));
  private readonly ports: NodeH2Port[] = [];
  private readonly waiters: Array<(port: NodeH2Port) => void> = [];

  private constructor(readonly h2: H2TestServer) {}

  static async start(
    prepare: (req: Http2ServerRequest, res: Http2ServerResponse) => void = () => undefined,
  ): Promise<PortServer> {
    let self: PortServer | undefined;
    const h2 = await H2TestServer.start((req, res) => {
      prepare(req, res);
      self!.arrive(self!.owner.portFor(req, res));
    });
    self = new PortServer(h2);
    return self;
  }

  /** The port of the next request (or of one that arrived already). */
  next(): Promise<NodeH2Port> {
    const ready = this.ports.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private arrive(port: NodeH2Port): void {
    const waiter = this.waiters.shift();
    if (waiter === undefined) this.ports.push(port);
    else waiter(port);
  }
}

/** A stream the client never reads: it stops giving the server flow-control credit. */
async function pausedStream(session: ClientHttp2Session, path: string): Promise<ClientHttp2Stream> {
  const stream = session.request({ ':path': path, accept: 'text/event-stream' });
  stream.pause();
  stream.on('error', () => undefined);
  await once(stream, 'response');
  return stream;
}

function frame(n: number, size = 1000): WireFrame {
  return new WireFrame(`id: ${n}\ndata: ${'x'.repeat(size)}\n\n`);
}

let server: PortServer | undefined;
const sessions: ClientHttp2Session[] = [];

afterEach(async () => {
  for (const session of sessions.splice(0)) session.destroy();
  await server?.h2.close();
  server = undefined;
});

async function clientSession(settings = {}): Promise<ClientHttp2Session> {
  const opened = await openHttp2Session(server!.h2.server, { settings });
  sessions.push(opened);
  return opened;
}

describe('NodeH2Port: head and frames', () => {
  it('sends the head at once, and frames as bare DATA (no chunk framing)', async () => {
    server = await PortServer.start();
    const opening = openEventStream(server.h2.server, { path: '/' });
    const port = await server.next();
    expect(port.protocol).toBe('2');
    expect(port.clientAddress).toBe('127.0.0.1');
    expect(port.request.headers.accept).toBe('text/event-stream');
    port.head();
    // The headers reach the client before any frame: a quiet stream is answered.
    const stream = await opening;
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream');
    expect(port.write(new WireFrame('id: 1\ndata: one\n\n'))).toBe(true);
    expect(port.write(new WireFrame('data: two\n\n'))).toBe(true);
    port.end();
    await stream.waitForEnd();
    expect(stream.raw).toBe('id: 1\ndata: one\n\ndata: two\n\n');
  });

  it('drops connection-specific headers (given or already set) with one warning naming them', async () => {
    server = await PortServer.start((req, res) => {
      // As a middleware or a route's @Header() would have left them on the response.
      res.setHeader('Keep-Alive', 'timeout=5');
      res.setHeader('X-Kept', 'yes');
      if (req.url === '/all') {
        res.setHeader('Connection', 'keep-alive');
        res.setHeader('Transfer-Encoding', 'chunked');
        res.setHeader('Upgrade', 'h2c');
        res.setHeader('Proxy-Connection', 'keep-alive');
        res.setHeader('TE', 'trailers');
        res.setHeader('HTTP2-Settings', 'AAA');
      }
    });
    const first = openEventStream(server.h2.server, { path: '/all' });
    (await server.next()).head();
    const stream = await first;
    expect(stream.status).toBe(200);
    expect(stream.headers['x-kept']).toBe('yes');
    for (const name of [
      'connection',
      'keep-alive',
      'transfer-encoding',
      'upgrade',
      'proxy-connection',
      'te',
      'http2-settings',
    ]) {
      expect(stream.headers, name).not.toHaveProperty(name);
    }
    expect(server.warnings).toHaveLength(1);
    expect(server.warnings[0]).toContain('"keep-alive"');
    expect(server.warnings[0]).toContain('"http2-settings"');

    // The same headers on the next stream: no second warning.
    const second = openEventStream(server.h2.server, { path: '/' });
    (await server.next()).head();
    expect((await second).status).toBe(200);
    expect(server.warnings).toHaveLength(1);
    await Promise.all([stream.close(), (await second).close()]);
  });

  it('respond() answers with a status and a body and ends the stream', async () => {
    server = await PortServer.start();
    const opening = openEventStream(server.h2.server, { path: '/' });
    (await server.next()).respond(
      429,
      { 'content-type': 'text/plain', connection: 'close' },
      'busy',
    );
    const stream = await opening;
    expect(stream.status).toBe(429);
    expect(stream.headers).not.toHaveProperty('connection');
    await stream.waitForEnd();
    expect(stream.raw).toBe('busy');
  });
});

describe('NodeH2Port: backpressure and abort, per stream', () => {
  it('a paused stream fills and buffers while a sibling on the same session keeps flowing', async () => {
    server = await PortServer.start();
    const client = await clientSession({ initialWindowSize: 1024 });
    const slowOpening = pausedStream(client, '/slow');
    const slow = await server.next();
    slow.head();
    const slowClient = await slowOpening;
    const fastOpening = openEventStream(server.h2.server, { session: client, path: '/fast' });
    const fast = await server.next();
    fast.head();
    const fastClient = await fastOpening;

    let n = 0;
    while (slow.write(frame(n))) n++;
    // The stream's own high-water mark (16 KiB), far above the client's 1 KiB window.
    expect(n).toBeGreaterThan(10);
    const buffered = slow.bufferedBytes;
    expect(buffered).toBeGreaterThan(10_000);
    slow.write(frame(++n));
    expect(slow.bufferedBytes).toBeGreaterThan(buffered);

    // The sibling's frames get through although the slow one holds its bytes.
    for (let i = 0; i < 5; i++) fast.write(new WireFrame(`data: fast ${i}\n\n`));
    expect((await fastClient.take(5)).map((e) => e.data)).toEqual([
      'fast 0',
      'fast 1',
      'fast 2',
      'fast 3',
      'fast 4',
    ]);

    // Reading again lets the slow stream drain.
    const drained = new Promise<void>((resolve) => slow.onceDrain(resolve));
    slowClient.resume();
    await drained;
    await fastClient.close();
  });

  it('a session with 100 streams, one never reading: the other 99 get every frame', async () => {
    server = await PortServer.start();
    const client = await clientSession({ initialWindowSize: 1024 });
    const slowOpening = pausedStream(client, '/slow');
    const slow = await server.next();
    slow.head();
    await slowOpening;
    const readers = [];
    const ports = [];
    for (let i = 0; i < 99; i++) {
      const opening = openEventStream(server.h2.server, { session: client, path: '/fast' });
      const port = await server.next();
      port.head();
      ports.push(port);
      readers.push(await opening);
    }
    for (let n = 0; n < 20; n++) {
      const event = frame(n, 200);
      slow.write(event);
      for (const port of ports) port.write(event);
    }
    await Promise.all(readers.map((reader) => reader.waitForEvents(20)));
    // The never-reading stream holds its frames itself, beyond its peer's 1 KiB window.
    expect(slow.bufferedBytes).toBeGreaterThan(20 * 200 - 1024);
    await Promise.all(readers.map((reader) => reader.close()));
  });

  it('abort() resets only its stream (the client sees CANCEL, 8); the session lives on', async () => {
    server = await PortServer.start();
    const client = await clientSession({ initialWindowSize: 1024 });
    const slowOpening = pausedStream(client, '/slow');
    const slow = await server.next();
    slow.head();
    const slowClient = await slowOpening;
    const fastOpening = openEventStream(server.h2.server, { session: client, path: '/fast' });
    const fast = await server.next();
    fast.head();
    const fastClient = await fastOpening;
    while (slow.write(frame(0)));

    const portClosed = new Promise<void>((resolve) => slow.onClose(resolve));
    const clientClosed = once(slowClient, 'close');
    slow.abort();
    await Promise.all([portClosed, clientClosed]);
    expect(slowClient.rstCode).toBe(8);
    // Writing to the reset stream is refused, not thrown.
    expect(slow.write(frame(1))).toBe(false);

    expect(client.closed || client.destroyed).toBe(false);
    fast.write(new WireFrame('data: after the reset\n\n'));
    expect(await fastClient.take(1)).toMatchObject([{ data: 'after the reset' }]);
    expect(server.h2.sessions.size).toBe(1);
    await fastClient.close();
  });

  it('onClose tells of a client that reset its stream', async () => {
    server = await PortServer.start();
    const opening = openEventStream(server.h2.server, { path: '/' });
    const port = await server.next();
    port.head();
    const closed = new Promise<void>((resolve) => port.onClose(resolve));
    await (await opening).close();
    await closed;
    expect(port.write(frame(0))).toBe(false);
  });

  it('a stream the client reset before its head: head, write, end and abort do not throw', async () => {
    server = await PortServer.start();
    const client = await clientSession();
    const request = client.request({ ':path': '/', accept: 'text/event-stream' });
    request.on('error', () => undefined);
    const port = await server.next();
    const closed = new Promise<void>((resolve) => port.onClose(resolve));
    request.close(8);
    await closed;
    expect(() => {
      port.head();
      expect(port.write(frame(0))).toBe(false);
      port.end();
      port.abort();
    }).not.toThrow();
    expect(client.closed || client.destroyed).toBe(false);
  });
});

describe('NodeH2Sessions: shutdown', () => {
  it('GOAWAYs every session it saw, idle or streaming, and closes them within the grace', async () => {
    server = await PortServer.start();
    const idle = await clientSession();
    const busy = await clientSession();
    // The idle session had a stream that ended: the owner saw it, and it stays open.
    const ended = openEventStream(server.h2.server, { session: idle, path: '/' });
    (await server.next()).respond(204, {});
    await (await ended).waitForEnd();
    const open = openEventStream(server.h2.server, { session: busy, path: '/' });
    (await server.next()).head();
    await open;
    expect(server.owner.openSessions).toBe(2);

    const goaways = [once(idle, 'goaway'), once(busy, 'goaway')];
    const closes = [once(idle, 'close'), once(busy, 'close')];
    await within(server.owner.shutdown(200), 5000, 'the sessions to close');
    await within(Promise.all([...goaways, ...closes]), 5000, 'GOAWAY and close on the clients');
    expect(server.owner.openSessions).toBe(0);
    await within(
      new Promise<void>((resolve) => server!.h2.server.close(() => resolve())),
      5000,
      'the server to close',
    );
  });

  it('closes idle sessions with a graceful GOAWAY, without waiting for the grace', async () => {
    server = await PortServer.start();
    const idle = await clientSession();
    const ended = openEventStream(server.h2.server, { session: idle, path: '/' });
    (await server.next()).respond(204, {});
    await (await ended).waitForEnd();
    const goaway = once(idle, 'goaway');
    // A grace far beyond the bound: only the GOAWAY itself can close the session in time.
    await within(server.owner.shutdown(600_000), 5000, 'the idle session to close');
    const [code] = (await goaway) as [number];
    expect(code).toBe(0);
  });
});

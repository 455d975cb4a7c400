import type { INestApplication } from '@nestjs/common';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  serializeEvent,
  type SseEvent,
  type SseModuleOptions,
  StreamRegistry,
} from '../../src/index.js';
import { nextTurn, within } from '../support/deadline.js';
import { EventFeed } from '../src/production/event-feed.js';
import { FeedController } from '../src/production/feed.controller.js';
import { LifecycleRecorder } from '../src/production/lifecycle-recorder.js';
import { portOf, startProductionApp } from '../src/production/production-app.js';
import { RawEventStream } from '../src/production/raw-event-stream.js';

// A stream's frames normally go straight to its socket, as ready-made HTTP/1.1 chunks. A response
// whose `write` a middleware wrapped (compression, byte metering), or one that is not chunked
// (an HTTP/1.0 client), must still get every frame through `res.write()`: the same events, and
// every byte seen by the middleware.

const COUNTED = 'x-count-bytes';

/** A metering middleware: wraps `res.write` of the requests that ask for it, and adds up bytes. */
class ByteMeter {
  bytes = 0;
  writes = 0;

  readonly middleware = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (req.headers[COUNTED] !== undefined) {
      const write = res.write;
      res.write = ((chunk: Buffer | string, ...rest: unknown[]) => {
        this.writes++;
        this.bytes += Buffer.byteLength(chunk);
        return (write as (...args: unknown[]) => boolean).call(res, chunk, ...rest);
      }) as ServerResponse['write'];
    }
    next();
  };
}

function mixedEvent(n: number): SseEvent {
  return n % 3 === 0
    ? { type: 'note', id: `é-${n}`, data: `line one\r\nline two ✓ ${n}` }
    : { id: n, data: { n, text: 'a'.repeat(n % 50) } };
}

function parsed(event: SseEvent): { event: string | undefined; id: string; data: string } {
  return {
    event: event.type,
    id: String(event.id),
    data:
      typeof event.data === 'string'
        ? event.data.replace(/\r\n/g, '\n')
        : JSON.stringify(event.data),
  };
}

function streamRequest(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`;
}

/** The responses in `bytes`, one after the other (HTTP/1.1, chunked), each with its events. */
function pipelinedResponses(
  bytes: Buffer,
): Array<{ status: number; events: EventSourceMessage[] }> {
  const responses: Array<{ status: number; events: EventSourceMessage[] }> = [];
  let offset = 0;
  while (offset < bytes.length) {
    const headEnd = bytes.indexOf('\r\n\r\n', offset);
    const status = Number(bytes.toString('latin1', offset, headEnd).split(' ')[1]);
    const events: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (event) => events.push(event) });
    offset = headEnd + 4;
    for (;;) {
      const lineEnd = bytes.indexOf('\r\n', offset);
      const size = Number.parseInt(bytes.toString('latin1', offset, lineEnd), 16);
      offset = lineEnd + 2 + size + 2;
      if (size === 0) break;
      parser.feed(bytes.toString('utf8', lineEnd + 2, lineEnd + 2 + size));
    }
    responses.push({ status, events });
  }
  return responses;
}

describe('the write path', () => {
  let app: INestApplication;
  let registry: StreamRegistry;
  let lifecycle: LifecycleRecorder;
  let meter: ByteMeter;
  const clients: RawEventStream[] = [];

  async function start(options: SseModuleOptions, socketTimeoutMs = 0): Promise<void> {
    meter = new ByteMeter();
    app = await startProductionApp({ heartbeatMs: 0, ...options }, [FeedController], (nest) => {
      nest.use(meter.middleware);
      if (socketTimeoutMs > 0) (nest.getHttpServer() as Server).setTimeout(socketTimeoutMs);
    });
    registry = app.get(StreamRegistry);
    lifecycle = new LifecycleRecorder(registry);
  }

  async function open(
    path: string,
    headers: Record<string, string> = {},
    httpVersion: '1.0' | '1.1' = '1.1',
  ): Promise<RawEventStream> {
    const client = await RawEventStream.open(portOf(app), path, headers, httpVersion);
    clients.push(client);
    return client;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.destroy()));
    lifecycle.stop();
    await app.close();
  });

  it('sends the same events to a plain, a metered and an HTTP/1.0 response, bursts included', async () => {
    await start({});
    const direct = await open('/feed/same');
    const metered = await open('/feed/same', { [COUNTED]: '1' });
    const http10 = await open('/feed/same', {}, '1.0');
    for (const client of clients) client.resume();
    await lifecycle.waitFor((l) => l.opens.length === 3, 'the three streams to open');

    const channel = app.get(EventFeed).channel('same');
    const sent: SseEvent[] = [];
    // A burst within one tick (written together), then events one turn of the loop apart.
    for (let n = 0; n < 200; n++) sent.push(mixedEvent(n));
    for (const event of sent) channel.next(event);
    for (let n = 200; n < 250; n++) {
      await nextTurn();
      const event = mixedEvent(n);
      sent.push(event);
      channel.next(event);
    }
    channel.complete();

    await direct.waitFor((c) => c.bodyComplete, 'the plain response to end');
    await metered.waitFor((c) => c.bodyComplete, 'the metered response to end');
    // HTTP/1.0 has no chunks: the server ends the body by closing the connection.
    await within(http10.closed, 5000, 'the HTTP/1.0 connection to close');

    const expected = sent.map(parsed);
    const frameBytes = sent.reduce((sum, e) => sum + Buffer.byteLength(serializeEvent(e)), 0);
    for (const client of [direct, metered, http10]) {
      expect(client.status).toBe(200);
      expect(client.events.map(({ event, id, data }) => ({ event, id, data }))).toEqual(expected);
      expect(client.bodyBytes).toBe(frameBytes);
    }
    expect(direct.headers.get('transfer-encoding')).toBe('chunked');
    expect(metered.headers.get('transfer-encoding')).toBe('chunked');
    expect(http10.headers.has('transfer-encoding')).toBe(false);
    // The middleware saw every frame's bytes, one write per frame.
    expect(meter.bytes).toBe(frameBytes);
    expect(meter.writes).toBe(sent.length);
    expect(registry.stats()).toMatchObject({ open: 0, eventsWritten: 3 * sent.length });
  });

  it("keeps a metered response that stops reading within maxBufferedBytes under 'close'", async () => {
    const budget = 64 * 1024;
    await start({ maxBufferedBytes: budget, slowClientPolicy: 'close' });
    const client = await open('/feed/slow', { [COUNTED]: '1' });
    await lifecycle.waitFor((l) => l.opens.length === 1, 'the stream to open');
    const channel = app.get(EventFeed).channel('slow');

    const data = 'x'.repeat(1024);
    const limit = 32_768;
    let pushed = 0;
    while (pushed < limit && lifecycle.closes().length === 0) {
      channel.next({ id: pushed++, data });
      if (pushed % 16 === 0) await nextTurn();
    }

    expect(pushed).toBeLessThan(limit);
    expect(lifecycle.closes().map((c) => c.reason)).toEqual(['slow-client']);
    expect(channel.observed).toBe(false);
    // What the middleware passed on is what the server took: at most the kernel's buffers and
    // the budget, not the whole flood.
    client.resume();
    await within(client.closed, 10_000, 'the slow client to see its connection closed');
    const frame = Buffer.byteLength(serializeEvent({ id: pushed, data }));
    expect(meter.bytes - client.bodyBytes).toBeLessThanOrEqual(budget + 2 * frame);
  });

  it("keeps a quiet stream open past the server's idle-socket timeout", async () => {
    await start({}, 150);
    const stream = await open('/feed/quiet');
    stream.resume();
    await lifecycle.waitFor((l) => l.opens.length === 1, 'the stream to open');

    // A connection that sends nothing, opened after the stream: once the server has cut it for
    // being idle, the stream has been idle at least as long.
    const idle = connect({ host: '127.0.0.1', port: portOf(app) });
    idle.on('error', () => undefined);
    await within(
      new Promise((resolve) => idle.once('close', resolve)),
      5000,
      'the server to cut an idle connection',
    );

    expect(stream.isClosed).toBe(false);
    app.get(EventFeed).channel('quiet').next({ id: 1, data: 'still here' });
    await stream.waitFor((c) => c.events.length === 1, 'the event after the idle period');
    expect(stream.events[0]).toMatchObject({ id: '1', data: 'still here' });
    expect(lifecycle.closes()).toEqual([]);
  });

  it('keeps a pipelined stream, queued behind another response, in order on the socket', async () => {
    await start({});
    const feed = app.get(EventFeed);
    const socket = connect({ host: '127.0.0.1', port: portOf(app) });
    const received: Buffer[] = [];
    socket.on('data', (data: Buffer) => received.push(data));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    // Two requests in one packet: Node runs both handlers, but the second response gets the
    // socket only once the first one has ended.
    socket.write(streamRequest('/feed/first') + streamRequest('/feed/second'));
    await lifecycle.waitFor((l) => l.opens.length === 2, 'both streams to open');

    // The second stream's events come first, while its response still waits for the socket.
    feed.channel('second').next({ id: 'b1', data: 'second one' });
    feed.channel('second').next({ id: 'b2', data: 'second two' });
    feed.channel('first').next({ id: 'a1', data: 'first one' });
    feed.channel('first').complete();
    feed.channel('second').next({ id: 'b3', data: 'second three' });
    feed.channel('second').complete();
    await lifecycle.waitFor((l) => l.closes('complete').length === 2, 'both streams to end');
    socket.end();
    await within(closed, 5000, 'the connection to close');

    const responses = pipelinedResponses(Buffer.concat(received));
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    expect(responses.map((r) => r.events.map((e) => e.id))).toEqual([['a1'], ['b1', 'b2', 'b3']]);
  });
});

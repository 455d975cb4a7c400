import compress, { type FastifyCompressOptions } from '@fastify/compress';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { connect as connectHttp2 } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { serializeEvent, type SseEvent, StreamRegistry } from '../../src/index.js';
import { openEventStream, type TestEventStream } from '../../src/testing/index.js';
import { CleanupProbe } from '../src/cleanup/cleanup-probe.js';
import { CompressAppModule } from '../src/fastify-compress/compress-app.module.js';
import { NEWS } from '../src/fastify-compress/news.controller.js';
import { eventually } from '../support/eventually.js';
import { type Platform, PLATFORMS } from '../support/platforms.js';
import { chunked, rawHttp1Get } from '../support/raw-http1.js';
import { generateCertificate, type TestCertificate } from '../support/tls-certificate.js';
import { varyTokens } from '../support/vary-tokens.js';

// @fastify/compress registered on the whole application, as its README has users do
// (`await app.register(compress)` before listen(): a plugin registered without await is not
// loaded yet when Nest adds its routes, so it compresses none of them, streams or not), with
// streams and plain answers on one path. A stream hijacks its reply when its head goes out, so
// no onSend hook (the plugin compresses there) ever sees it: its events leave uncompressed, as
// they are written, whatever the client accepts, even when the plugin is told to compress
// text/event-stream; the plain answer beside it is compressed.

const FASTIFY = PLATFORMS.filter((platform) => platform.adapter === 'fastify');

/** The plugin's options: its defaults, and a type list that would take in text/event-stream. */
const REGISTRATIONS = [
  { name: 'its defaults', options: undefined },
  { name: 'customTypes taking in text/event-stream', options: { customTypes: /^text\/|json/ } },
] as const;

const ACCEPT_ENCODING = 'gzip, br';

interface CompressedApp {
  app: NestFastifyApplication;
  origin: string;
  certificate?: TestCertificate;
  openEventStream(path: string): Promise<TestEventStream>;
  request(path: string, headers: Record<string, string>, body?: Buffer): Promise<BytesResponse>;
}

describe.each(FASTIFY)('@fastify/compress on $name', (platform) => {
  describe.each(REGISTRATIONS)('registered with $name', (registration) => {
    let started: CompressedApp | undefined;

    afterEach(async () => {
      await started?.app.close();
      started = undefined;
    });

    async function start(): Promise<CompressedApp> {
      started = await startCompressed(platform, registration.options);
      return started;
    }

    it('sends each event as it is produced, intact and uncompressed, to a client accepting gzip and br', async () => {
      const { app, openEventStream: open } = await start();
      const probe = app.get(CleanupProbe);
      const stream = await open('/news');
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toBe('text/event-stream');
      expect(stream.headers).not.toHaveProperty('content-encoding');
      expect(varyTokens(stream.headers.vary)).not.toContain('accept-encoding');
      expect(probe.subscribed).toBe(1);
      const events: SseEvent[] = [
        { id: '1', type: 'headline', data: { title: 'first' } },
        { data: 'second\nof two lines' },
        { id: '3', data: 'x'.repeat(4096) },
      ];
      for (const [n, event] of events.entries()) {
        probe.manual.next(event);
        // Each one arrives while the stream is open and nothing else is sent: none waits for a
        // compressor's buffer to fill, or for the end.
        await stream.waitForEvents(n + 1);
        expect(stream.closed).toBe(false);
      }
      expect(stream.events.map((e) => [e.event, e.id, e.data])).toEqual([
        ['headline', '1', '{"title":"first"}'],
        [undefined, undefined, 'second\nof two lines'],
        [undefined, '3', 'x'.repeat(4096)],
      ]);
      expect(stream.raw).toBe(events.map((event) => serializeEvent(event)).join(''));
      await stream.close();
    });

    it('leaves uncompressed a stream whose route drops no-transform (unlike Express compression)', async () => {
      const { app, openEventStream: open } = await start();
      const stream = await open('/news/transformable');
      expect(stream.headers['cache-control']).toBe('no-cache');
      expect(stream.headers).not.toHaveProperty('content-encoding');
      app.get(CleanupProbe).manual.next({ data: 'plain text' });
      const [event] = await stream.take(1);
      expect(event?.data).toBe('plain text');
      await stream.close();
    });

    it('compresses the large plain answer of the same path (the plugin is active)', async () => {
      const { request } = await start();
      const json = JSON.stringify(NEWS);
      const gzip = await request('/news', { 'accept-encoding': 'gzip' });
      expect(gzip.status).toBe(200);
      expect(gzip.headers['content-encoding']).toBe('gzip');
      expect(gzip.body.length).toBeLessThan(Buffer.byteLength(json));
      expect(gunzipSync(gzip.body).toString('utf8')).toBe(json);
      expect(varyTokens(gzip.headers.vary)).toEqual(
        expect.arrayContaining(['accept-encoding', 'accept']),
      );
      const br = await request('/news', { 'accept-encoding': ACCEPT_ENCODING });
      expect(br.headers['content-encoding']).toBe('br');
      expect(brotliDecompressSync(br.body).toString('utf8')).toBe(json);
      const identity = await request('/news', {});
      expect(identity.headers).not.toHaveProperty('content-encoding');
      expect(identity.body.toString('utf8')).toBe(json);
    });

    it('releases the source, the stream and its timer when the client leaves', async () => {
      const { app, openEventStream: open } = await start();
      const probe = app.get(CleanupProbe);
      const registry = app.get(StreamRegistry);
      const streams = await Promise.all([open('/news'), open('/news/transformable')]);
      await streams[0]!.waitFor(() => registry.stats().open === 2, 'two open streams');
      expect(registry.heartbeat.timers).toBe(1);
      probe.manual.next({ data: 'to both' });
      await Promise.all(streams.map((stream) => stream.take(1)));
      await Promise.all(streams.map((stream) => stream.close()));
      await probe.whenFinalized(2);
      await streams[0]!.waitFor(() => registry.stats().open === 0, 'the registry to let go');
      expect(registry.list()).toEqual([]);
      expect(registry.bufferedBytes).toBe(0);
      expect(registry.heartbeat.timers).toBe(0);
      expect(probe.manual.observed).toBe(false);
    });

    it('serves a POST stream whose request body came gzipped (the plugin inflates it)', async () => {
      const { request } = await start();
      const res = await request(
        '/news/ask',
        {
          accept: 'text/event-stream',
          'accept-encoding': ACCEPT_ENCODING,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
        gzipSync(JSON.stringify({ question: 'compressed?' })),
      );
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/event-stream');
      expect(res.headers).not.toHaveProperty('content-encoding');
      const events: EventSourceMessage[] = [];
      createParser({ onEvent: (event) => events.push(event) }).feed(res.body.toString('utf8'));
      expect(events.map((e) => [e.event, e.data])).toEqual([['answer', '{"echo":"compressed?"}']]);
    });

    it('writes the exact frames on the wire, past the plugin (chunked on HTTP/1.1)', async () => {
      const { app, origin, openEventStream: open } = await start();
      const probe = app.get(CleanupProbe);
      const event: SseEvent = { id: '7', data: 'on the wire' };
      if (platform.protocol === '1.1') {
        const raw = rawHttp1Get(Number(new URL(origin).port), '/news', {
          accept: 'text/event-stream',
          'accept-encoding': ACCEPT_ENCODING,
        });
        const registry = app.get(StreamRegistry);
        await eventually(() => registry.stats().open === 1, 'the stream to open');
        probe.manual.next(event);
        probe.manual.complete();
        const { head, body } = await raw;
        expect(head.toLowerCase()).not.toContain('content-encoding');
        expect(body).toBe(chunked([serializeEvent(event)]));
      } else {
        const stream = await open('/news');
        probe.manual.next(event);
        probe.manual.complete();
        await stream.waitForEnd();
        expect(stream.headers).not.toHaveProperty('content-encoding');
        expect(stream.raw).toBe(serializeEvent(event));
      }
    });

    it('compresses event-stream bytes sent as a plain answer only if the options say so', async () => {
      const { request } = await start();
      const res = await request('/news/as-text', { 'accept-encoding': 'gzip' });
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      if (registration.options === undefined) {
        // The plugin's default types leave text/event-stream out.
        expect(res.headers).not.toHaveProperty('content-encoding');
        expect(res.body.toString('utf8')).toMatch(/^data: /);
      } else {
        // The options reach onSend: only the hijack keeps the streams above uncompressed.
        expect(res.headers['content-encoding']).toBe('gzip');
        expect(gunzipSync(res.body).toString('utf8')).toMatch(/^data: /);
      }
    });
  });
});

async function startCompressed(
  platform: Platform,
  options: FastifyCompressOptions | undefined,
): Promise<CompressedApp> {
  const certificate = platform.secure ? await generateCertificate() : undefined;
  const app = await NestFactory.create<NestFastifyApplication>(
    CompressAppModule,
    fastifyAdapter(platform, certificate),
    { logger: false, abortOnError: false },
  );
  await app.register(compress, options);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const origin = `${platform.secure ? 'https' : 'http'}://127.0.0.1:${port}`;
  const tls = certificate === undefined ? undefined : { ca: certificate.cert };
  return {
    app,
    origin,
    certificate,
    openEventStream: (path) =>
      openEventStream(app, {
        path,
        http2: platform.protocol === '2',
        tls,
        headers: { 'accept-encoding': ACCEPT_ENCODING },
      }),
    request: (path, headers, body) =>
      platform.protocol === '2'
        ? http2Bytes(origin, path, headers, body, certificate?.cert)
        : http1Bytes(port, path, headers, body),
  };
}

/** The adapter of a Fastify row of PLATFORMS, built as test/support/platforms.ts builds it. */
function fastifyAdapter(platform: Platform, certificate?: TestCertificate): FastifyAdapter {
  if (platform.protocol === '1.1') return new FastifyAdapter();
  if (certificate === undefined) return new FastifyAdapter({ http2: true });
  return new FastifyAdapter({
    http2: true,
    https: { key: certificate.key, cert: certificate.cert, allowHTTP1: true },
  });
}

/** A whole response as bytes, not decoded: what the server put on the wire. */
interface BytesResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** GET, or POST with `body`, on a connection of its own. */
function http1Bytes(
  port: number,
  path: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
): Promise<BytesResponse> {
  return new Promise((resolve, reject) => {
    const method = body === undefined ? 'GET' : 'POST';
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers, agent: false });
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', reject);
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.end(body);
  });
}

/** GET, or POST with `body`, on a session of its own. */
async function http2Bytes(
  origin: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  ca: string | undefined,
): Promise<BytesResponse> {
  const session = connectHttp2(origin, { ca });
  try {
    return await new Promise<BytesResponse>((resolve, reject) => {
      session.once('error', reject);
      const method = body === undefined ? 'GET' : 'POST';
      const stream = session.request({ ...headers, ':method': method, ':path': path });
      stream.end(body);
      const chunks: Buffer[] = [];
      let status = 0;
      const responseHeaders: IncomingHttpHeaders = {};
      stream.once('response', (head) => {
        status = Number(head[':status']);
        for (const [name, value] of Object.entries(head)) {
          if (!name.startsWith(':')) responseHeaders[name] = value;
        }
      });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('error', reject);
      stream.once('end', () =>
        resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks) }),
      );
    });
  } finally {
    session.close();
  }
}

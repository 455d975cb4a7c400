import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { serializeEvent, type SseModuleOptions, StreamRegistry } from '../../src/index.js';
import { CleanupProbe } from '../src/cleanup/cleanup-probe.js';
import { ConformanceAppModule } from '../src/conformance/conformance-app.module.js';
import { CONFORMANCE_EVENTS } from '../src/conformance/conformance.controller.js';
import { PullController } from '../src/production/pull.controller.js';
import { PullProbe } from '../src/production/pull-probe.js';
import { CONFORMANCE_PLATFORMS, type PlatformApp } from '../support/platforms.js';
import { chunked, rawHttp1Get } from '../support/raw-http1.js';

// A stream's life on every platform: its events and end, a source's failure, the release of
// the source when the client leaves, heartbeats, pull sources, and the bytes on the wire.

describe.each(CONFORMANCE_PLATFORMS)('stream lifecycle on $name', (platform) => {
  let started: PlatformApp | undefined;

  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  async function start(options: SseModuleOptions = {}): Promise<PlatformApp> {
    started = await platform.createApp(ConformanceAppModule.with(options, [PullController]));
    return started;
  }

  it('sends every event of a source that completes, then ends the response', async () => {
    const app = await start();
    const stream = await app.openEventStream({ path: '/c/events' });
    expect(stream.protocol).toBe(platform.protocol);
    await stream.waitForEnd();
    expect(stream.endedByServer).toBe(true);
    expect(stream.events.map((e) => [e.event, e.id, e.data])).toEqual([
      ['greet', '1', 'one'],
      [undefined, '2', '{"n":2}'],
      [undefined, undefined, 'multi\nline'],
      [undefined, '', 'id reset'],
    ]);
    expect(stream.comments).toContain('note');
    expect(app.app.get(StreamRegistry).stats()).toMatchObject({ open: 0, eventsWritten: 5 });
  });

  it('sends stream-error with a client-safe body when the source fails after opening', async () => {
    const app = await start();
    const stream = await app.openEventStream({ path: '/c/fail' });
    await stream.waitForEnd();
    expect(stream.status).toBe(200);
    expect(stream.events.map((e) => [e.event, e.data])).toEqual([
      [undefined, 'before'],
      ['stream-error', '{"statusCode":500,"message":"kept from clients"}'],
    ]);
  });

  it('releases the source when the client leaves, leaving no stream, timer or byte behind', async () => {
    const app = await start({ heartbeatMs: 1000 });
    const probe = app.app.get(CleanupProbe);
    const registry = app.app.get(StreamRegistry);
    const streams = await Promise.all(
      Array.from({ length: 5 }, () => app.openEventStream({ path: '/c/forever' })),
    );
    await Promise.all(streams.map((stream) => stream.take(1)));
    expect(registry.stats().open).toBe(5);
    expect(registry.heartbeat.timers).toBe(1);
    await Promise.all(streams.map((stream) => stream.close()));
    await probe.whenFinalized(5);
    await streams[0]!.waitFor(() => registry.stats().open === 0, 'the registry to let go');
    expect(registry.list()).toEqual([]);
    expect(registry.bufferedBytes).toBe(0);
    expect(registry.heartbeat.timers).toBe(0);
  });

  it('keeps a quiet stream alive with heartbeat comments', async () => {
    const app = await start({ heartbeatMs: 30 });
    const stream = await app.openEventStream({ path: '/c/quiet' });
    await stream.waitFor((s) => s.comments.length >= 2, 'two heartbeats');
    expect(stream.events).toEqual([]);
    expect(stream.comments.every((comment) => comment === '')).toBe(true);
    await stream.close();
  });

  it('pulls an async generator to its end, and stops one whose client left', async () => {
    const app = await start();
    const probe = app.app.get(PullProbe);
    const whole = await app.openEventStream({ path: '/pull/generator?count=3' });
    await whole.waitForEnd();
    expect(whole.events.map((e) => e.id)).toEqual(['0', '1', '2']);
    await probe.sources[0]!.released;

    const endless = await app.openEventStream({
      path: '/pull/generator?count=1000000&size=1000',
    });
    await endless.take(3);
    await endless.close();
    await probe.sources[1]!.released;
    expect(probe.sources[1]!.releasedHow).toBe('finally');
    expect(probe.sources[1]!.pulls).toBeLessThan(1_000_000);
  });

  it('writes exactly the serialized frames (chunked on HTTP/1.1, bare DATA on HTTP/2)', async () => {
    const app = await start();
    const frames = CONFORMANCE_EVENTS.map((event) => serializeEvent(event));
    if (platform.protocol === '1.1') {
      const { head, body } = await rawHttp1Get(Number(new URL(app.origin).port), '/c/events');
      expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(head.toLowerCase()).toContain('\r\ntransfer-encoding: chunked');
      expect(head.toLowerCase()).toContain('\r\nconnection: keep-alive');
      expect(body).toBe(chunked(frames));
    } else {
      const stream = await app.openEventStream({ path: '/c/events' });
      await stream.waitForEnd();
      expect(stream.headers).not.toHaveProperty('connection');
      expect(stream.headers).not.toHaveProperty('transfer-encoding');
      expect(stream.raw).toBe(frames.join(''));
    }
  });

  it("leaves the connection's fate to Node: Connection: close once maxRequestsPerSocket is reached", async () => {
    const app = await start();
    if (platform.protocol === '1.1') {
      // The server serves one request per connection: its answer must say so, or the client
      // sends its next request on it and gets a 503.
      (app.app.getHttpServer() as Server).maxRequestsPerSocket = 1;
      const { head, body } = await rawHttp1Get(Number(new URL(app.origin).port), '/c/events');
      expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(head.toLowerCase()).toContain('\r\nconnection: close');
      expect(head.toLowerCase()).not.toContain('keep-alive');
      expect(body).toBe(chunked(CONFORMANCE_EVENTS.map((event) => serializeEvent(event))));
    } else {
      const stream = await app.openEventStream({ path: '/c/events' });
      await stream.waitForEnd();
      expect(stream.headers).not.toHaveProperty('connection');
      expect(stream.headers).not.toHaveProperty('keep-alive');
    }
  });

  it("keeps a route's @Header() values, and never sends a connection header over HTTP/2", async () => {
    const app = await start();
    const warnings: string[] = [];
    const registry = app.app.get(StreamRegistry);
    registry.logger.warn = (message: unknown) => void warnings.push(String(message));
    for (let i = 0; i < 2; i++) {
      const stream = await app.openEventStream({ path: '/c/keep-alive' });
      await stream.waitForEnd();
      expect(stream.status).toBe(200);
      expect(stream.headers['x-route']).toBe('kept');
      expect(stream.events.map((e) => e.data)).toEqual(['kept']);
      if (platform.protocol === '2') expect(stream.headers).not.toHaveProperty('keep-alive');
      else expect(stream.headers['keep-alive']).toBe('timeout=5');
    }
    // One warning naming the header, on the first stream only.
    expect(warnings).toEqual(
      platform.protocol === '2' ? [expect.stringContaining('"keep-alive"')] : [],
    );
  });
});

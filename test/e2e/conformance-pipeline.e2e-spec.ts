import { request as httpRequest } from 'node:http';
import { constants as http2Constants } from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { type SseModuleOptions, StreamRegistry } from '../../src/index.js';
import { openHttp2Session } from '../../src/testing/index.js';
import { MappingProbe } from '../src/pipeline/mapping-probe.js';
import { PipelineConformanceAppModule } from '../src/pipeline/pipeline-conformance-app.module.js';
import { PipelineProbe } from '../src/pipeline/pipeline-probe.js';
import { QUIET_DELAY_MS } from '../src/pipeline/quiet.controller.js';
import { TimeoutAppModule } from '../src/pipeline/timeout-app.module.js';
import { REQUEST_TIMEOUT_MS } from '../src/pipeline/timeout.interceptor.js';
import { within } from '../support/deadline.js';
import { eventually } from '../support/eventually.js';
import { type PlatformApp, PLATFORMS } from '../support/platforms.js';

// The Nest pipeline around a stream, on every platform: guards and pipes answer before any
// stream byte, exception filters answer what fails before the stream opens, interceptors see
// the opening (not the events), @Header() reaches the head, and @EventStreamSignal() aborts
// when the client leaves. After each, no stream, timer, buffered byte or connection slot stays.

const EVENT_STREAM = 'text/event-stream';

/** maxConnections of these apps: a slot a refused request kept would refuse a later stream. */
const SLOTS = 2;

describe.each(PLATFORMS)('the Nest pipeline on $name', (platform) => {
  let started: PlatformApp | undefined;

  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  async function start(options: SseModuleOptions = {}): Promise<PlatformApp> {
    started = await platform.createApp(
      PipelineConformanceAppModule.with({ maxConnections: SLOTS, heartbeatMs: 1000, ...options }),
    );
    return started;
  }

  /** The answer's body, as JSON, after checking it is JSON and has no stream field in it. */
  async function jsonAnswer(app: PlatformApp, path: string, headers?: Record<string, string>) {
    const stream = await app.openEventStream({ path, headers });
    expect(stream.protocol).toBe(platform.protocol);
    expect(stream.headers['content-type']).toMatch(/^application\/json/);
    await stream.waitForEnd();
    expect(stream.raw).not.toMatch(/^(data|event|id|retry):/m);
    expect(stream.events).toEqual([]);
    return { status: stream.status, body: JSON.parse(stream.raw) as unknown };
  }

  describe('guards answer before any stream byte', () => {
    it('answers 403 JSON when a guard returns false, without running the handler', async () => {
      const app = await start();
      expect(await jsonAnswer(app, '/secure/bearer')).toEqual({
        status: 403,
        body: { statusCode: 403, message: 'Forbidden resource', error: 'Forbidden' },
      });
      expect(app.app.get(PipelineProbe).count('secure.bearer')).toBe(0);
      await expectReleased(app);
    });

    it('answers 401 JSON when a guard throws UnauthorizedException', async () => {
      const app = await start();
      expect(await jsonAnswer(app, '/secure/api-key')).toEqual({
        status: 401,
        body: {
          statusCode: 401,
          message: 'An x-api-key header is required',
          error: 'Unauthorized',
        },
      });
      expect(app.app.get(PipelineProbe).count('secure.api-key')).toBe(0);
      await expectReleased(app);
    });

    it('streams once the guards let the request through', async () => {
      const app = await start();
      const bearer = await app.openEventStream({
        path: '/secure/bearer',
        headers: { authorization: 'Bearer letmein' },
      });
      expect(bearer.status).toBe(200);
      expect(bearer.headers['content-type']).toBe(EVENT_STREAM);
      await bearer.waitForEnd();
      expect(bearer.events.map((e) => e.data)).toEqual(['secret feed']);
      const keyed = await app.openEventStream({
        path: '/secure/api-key',
        headers: { 'x-api-key': 'k' },
      });
      expect(keyed.status).toBe(200);
      await keyed.waitForEnd();
      expect(keyed.events.map((e) => e.data)).toEqual(['keyed feed']);
      const probe = app.app.get(PipelineProbe);
      expect([probe.count('secure.bearer'), probe.count('secure.api-key')]).toEqual([1, 1]);
      await expectReleased(app);
    });
  });

  describe('pipes and parameter decorators', () => {
    it('answers 400 JSON when ParseIntPipe refuses the @Param()', async () => {
      const app = await start();
      expect(await jsonAnswer(app, '/params/items/abc')).toEqual({
        status: 400,
        body: {
          statusCode: 400,
          message: 'Validation failed (numeric string is expected)',
          error: 'Bad Request',
        },
      });
      await expectReleased(app);
    });

    it("hands the pipe's result to the handler", async () => {
      const app = await start();
      const stream = await app.openEventStream({ path: '/params/items/42' });
      expect(stream.status).toBe(200);
      await stream.waitForEnd();
      expect(stream.events.map((e) => JSON.parse(e.data) as unknown)).toEqual([
        { id: 42, type: 'number' },
      ]);
      await expectReleased(app);
    });

    it('passes @Query() and @Headers() values', async () => {
      const app = await start();
      const stream = await app.openEventStream({
        path: '/params/echo?q=hello%20world',
        headers: { 'x-client': 'vitest' },
      });
      expect(stream.status).toBe(200);
      await stream.waitForEnd();
      expect(stream.events.map((e) => JSON.parse(e.data) as unknown)).toEqual([
        { q: 'hello world', client: 'vitest' },
      ]);
      await expectReleased(app);
    });
  });

  describe('exception filters', () => {
    it('lets a controller-level filter answer an error thrown by the handler', async () => {
      const app = await start();
      expect(await jsonAnswer(app, '/quota/sync')).toEqual({
        status: 429,
        body: { filtered: true, limit: 3, message: 'Quota of 3 streams exceeded' },
      });
      await expectReleased(app);
    });

    it('lets a controller-level filter answer a rejection of an async handler', async () => {
      const app = await start();
      expect(await jsonAnswer(app, '/quota/async')).toEqual({
        status: 429,
        body: { filtered: true, limit: 5, message: 'Quota of 5 streams exceeded' },
      });
      await expectReleased(app);
    });

    it('lets a controller-level filter answer an error the source emits while subscribed', async () => {
      const app = await start();
      expect(await jsonAnswer(app, '/quota/on-subscribe')).toEqual({
        status: 429,
        body: { filtered: true, limit: 7, message: 'Quota of 7 streams exceeded' },
      });
      await expectReleased(app);
    });

    it('leaves the open and the later streams of the same controller alone', async () => {
      const app = await start();
      const registry = app.app.get(StreamRegistry);
      const sibling = await app.openEventStream({ path: '/quota/open' });
      await sibling.take(1);
      for (const path of ['/quota/sync', '/quota/async', '/quota/on-subscribe']) {
        expect((await jsonAnswer(app, path)).status).toBe(429);
      }
      // The open sibling goes on receiving after them, in order, and is the only stream.
      const seen = sibling.events.length;
      await sibling.waitForEvents(seen + 2);
      expect(sibling.events.map((e) => e.data)).toEqual(sibling.events.map((_e, n) => `open ${n}`));
      expect(sibling.closed).toBe(false);
      expect(registry.stats().openByHandler).toEqual({ 'QuotaReplyController.open': 1 });
      const ok = await app.openEventStream({ path: '/quota/ok' });
      expect(ok.status).toBe(200);
      expect(ok.headers['content-type']).toBe(EVENT_STREAM);
      await ok.waitForEnd();
      expect(ok.events.map((e) => e.data)).toEqual(['within quota']);
      await sibling.close();
      await expectReleased(app);
    });
  });

  describe('interceptors', () => {
    it('show a logging interceptor the stream opening as one undefined value, not its events', async () => {
      const app = await start();
      const stream = await app.openEventStream({ path: '/observed/intercepted' });
      await stream.waitForEnd();
      expect(stream.events.map((e) => e.data)).toEqual(['event 0', 'event 1', 'event 2']);
      const probe = app.app.get(PipelineProbe);
      expect(probe.intercepted).toEqual([undefined]);
      expect(probe.interceptedCompleted).toBe(true);
      await expectReleased(app);
    });

    it("leave the events to the handler's Observable: a map() interceptor does not touch them", async () => {
      const app = await start();
      const stream = await app.openEventStream({ path: '/shaped/mapped' });
      expect(stream.status).toBe(200);
      await stream.waitForEnd();
      // Transformed by the handler's own map(); the interceptor's envelope reaches no one.
      expect(stream.events.map((e) => e.data)).toEqual(['A', 'B']);
      expect(stream.raw).not.toContain('wrapped by the interceptor');
      expect(app.app.get(MappingProbe).mapped).toEqual([undefined]);
      await expectReleased(app);
    });

    it('apply the global timeout interceptor to plain routes (the fixture works)', async () => {
      started = await platform.createApp(TimeoutAppModule);
      const res = await started.request('/quiet/slow');
      expect(res.status).toBe(408);
    });

    it('do not let a global timeout() kill a stream that stays quiet longer', async () => {
      expect(QUIET_DELAY_MS).toBeGreaterThan(2 * REQUEST_TIMEOUT_MS);
      started = await platform.createApp(TimeoutAppModule);
      const registry = started.app.get(StreamRegistry);
      const stream = await started.openEventStream({ path: '/quiet' });
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toBe(EVENT_STREAM);
      const [event] = await stream.take(1);
      expect(event).toMatchObject({ data: 'finally' });
      expect(event?.event).toBeUndefined();
      await stream.waitForEnd();
      expect(stream.events).toHaveLength(1);
      expect(registry.stats()).toMatchObject({ open: 0, eventsWritten: 1 });
      expect(registry.heartbeat.timers).toBe(0);
    });
  });

  describe('@Header()', () => {
    it("sends a route's @Header() values in the stream's head, keeping Content-Type's parameters", async () => {
      const app = await start();
      const stream = await app.openEventStream({ path: '/shaped/head' });
      expect(stream.status).toBe(200);
      expect(stream.headers['x-feed']).toBe('prices');
      expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(stream.headers['cache-control']).toBe('no-cache, no-transform');
      await stream.waitForEnd();
      expect(stream.events.map((e) => e.data)).toEqual(['headed']);
      await expectReleased(app);
    });
  });

  describe('@EventStreamSignal()', () => {
    it('aborts when the client disconnects from an open stream', async () => {
      const app = await start();
      const probe = app.app.get(PipelineProbe);
      const stream = await app.openEventStream({ path: '/observed/signal' });
      await stream.take(1);
      expect(probe.signal?.aborted).toBe(false);
      await stream.close();
      await within(probe.aborted, 2000, 'the signal to abort');
      expect(probe.signal?.aborted).toBe(true);
      await expectReleased(app);
    });

    it('aborts when the client leaves during an async setup, before the stream opened', async () => {
      const app = await start();
      const probe = app.app.get(PipelineProbe);
      const pending = await requestUnanswered(app, '/observed/signal-during-setup');
      await within(probe.handlerCalled, 2000, 'the handler to be called');
      expect(probe.signal?.aborted).toBe(false);
      pending.leave();
      await within(probe.aborted, 2000, 'the signal to abort');
      expect(probe.signal?.aborted).toBe(true);
      expect(await pending.responded).toBe(false);
      await expectReleased(app);
    });
  });
});

/**
 * No stream, heartbeat timer or queued byte is left, and every connection slot came back: as
 * many streams as maxConnections open at once, and none is refused.
 */
async function expectReleased(app: PlatformApp): Promise<void> {
  const registry = app.app.get(StreamRegistry);
  await eventually(() => registry.stats().open === 0, 'no open stream');
  expect(registry.list()).toEqual([]);
  expect(registry.bufferedBytes).toBe(0);
  expect(registry.heartbeat.timers).toBe(0);
  const streams = await Promise.all(
    Array.from({ length: SLOTS }, () => app.openEventStream({ path: '/quota/open' })),
  );
  for (const stream of streams) {
    const [first] = await stream.take(1);
    expect(first).toMatchObject({ data: 'open 0' });
    expect(first?.event).toBeUndefined();
  }
  expect(registry.stats()).toMatchObject({ open: SLOTS, refused: 0 });
  await Promise.all(streams.map((stream) => stream.close()));
  await eventually(() => registry.stats().open === 0, 'the slot streams to close');
  expect(registry.heartbeat.timers).toBe(0);
}

/** A stream request whose client leaves before any answer, over the platform's protocol. */
interface UnansweredRequest {
  /** Resolves once the request is over: `true` if a response head arrived first. */
  readonly responded: Promise<boolean>;
  /** Disconnects (HTTP/1.1: destroys the socket; HTTP/2: RST_STREAM CANCEL, then the session). */
  leave(): void;
}

async function requestUnanswered(app: PlatformApp, path: string): Promise<UnansweredRequest> {
  if (app.platform.protocol === '2') {
    const tls = app.certificate === undefined ? undefined : { ca: app.certificate.cert };
    const session = await openHttp2Session(app.app, { tls });
    const req = session.request({ ':path': path, accept: EVENT_STREAM });
    req.once('error', () => undefined);
    const responded = new Promise<boolean>((resolve) => {
      req.once('response', () => resolve(true));
      req.once('close', () => resolve(false));
    });
    return {
      responded,
      leave() {
        req.close(http2Constants.NGHTTP2_CANCEL);
        session.close();
      },
    };
  }
  const req = httpRequest({
    host: '127.0.0.1',
    port: Number(new URL(app.origin).port),
    path,
    headers: { accept: EVENT_STREAM },
    agent: false,
  });
  req.once('error', () => undefined);
  const responded = new Promise<boolean>((resolve) => {
    req.once('response', () => resolve(true));
    req.once('close', () => resolve(false));
  });
  req.end();
  return { responded, leave: () => req.destroy() };
}

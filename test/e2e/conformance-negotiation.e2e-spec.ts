import { afterEach, describe, expect, it } from 'vitest';
import { CleanupProbe } from '../src/cleanup/cleanup-probe.js';
import { QuickStartAppModule } from '../src/conformance/quick-start-app.module.js';
import { CONFORMANCE_PLATFORMS, type PlatformApp, runs } from '../support/platforms.js';
import { varyTokens } from '../support/vary-tokens.js';

// The README's quick start on every platform: one path, a plain handler and a stream.

const FILE = 'conformance-negotiation.e2e-spec';

describe.each(CONFORMANCE_PLATFORMS)('quick start on $name', (platform) => {
  let started: PlatformApp | undefined;

  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  async function start(): Promise<PlatformApp> {
    started = await platform.createApp(QuickStartAppModule);
    return started;
  }

  describe.skipIf(!runs(platform, FILE))('', () => {
    it('streams hello to a client that asks for events, with Vary: Accept', async () => {
      const app = await start();
      const stream = await app.openEventStream({ path: '/' });
      expect(stream.protocol).toBe(platform.protocol);
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toBe('text/event-stream');
      expect(stream.headers['cache-control']).toBe('no-cache, no-transform');
      expect(varyTokens(stream.headers.vary)).toContain('accept');
      if (platform.protocol === '2') expect(stream.headers).not.toHaveProperty('connection');
      const events = await stream.take(2);
      expect(events.map((e) => [e.event, e.id, e.data])).toEqual([
        ['message', '1', 'hello'],
        ['message', '1', 'hello'],
      ]);
      await stream.close();
    });

    it.each([
      { accept: undefined },
      { accept: '*/*' },
      { accept: 'application/json' },
      { accept: 'text/html, text/event-stream' },
    ])('answers ok to Accept: $accept, with Vary: Accept', async ({ accept }) => {
      const app = await start();
      const res = await app.request('/', accept === undefined ? {} : { accept });
      expect(res.protocol).toBe(platform.protocol);
      expect(res.status).toBe(200);
      expect(res.body).toBe('ok');
      expect(varyTokens(res.headers.vary)).toContain('accept');
      expect(app.app.get(CleanupProbe).subscribed).toBe(0);
    });

    it('answers 406 on a stream-only path to a client that refuses event streams', async () => {
      const app = await start();
      const res = await app.request('/only', { accept: 'application/json' });
      expect(res.status).toBe(406);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(res.body)).toMatchObject({
        statusCode: 406,
        message: expect.stringContaining('text/event-stream'),
      });
      expect(varyTokens(res.headers.vary)).toContain('accept');
      const stream = await app.openEventStream({ path: '/only' });
      await stream.waitForEnd();
      expect(stream.events.map((e) => e.data)).toEqual(['only']);
    });

    it('frees the source when the client disconnects', async () => {
      const app = await start();
      const probe = app.app.get(CleanupProbe);
      const streams = await Promise.all(
        Array.from({ length: 5 }, () => app.openEventStream({ path: '/' })),
      );
      await Promise.all(streams.map((stream) => stream.take(1)));
      expect(probe.subscribed).toBe(5);
      await Promise.all(streams.map((stream) => stream.close()));
      await probe.whenFinalized(5);
      expect(probe.finalized).toBe(5);
    });
  });
});

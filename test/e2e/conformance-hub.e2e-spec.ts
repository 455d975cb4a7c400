import { afterEach, describe, expect, it } from 'vitest';
import { SseHub } from '../../src/index.js';
import type { TestEventStream } from '../../src/testing/index.js';
import { ConformanceAppModule } from '../src/conformance/conformance-app.module.js';
import { HubController } from '../src/hub/hub.controller.js';
import { eventually } from '../support/eventually.js';
import { CONFORMANCE_PLATFORMS, type PlatformApp } from '../support/platforms.js';

// SseHub on the memory broker, on every platform: published events reach the streams of their
// channels, and a client that comes back with Last-Event-ID gets what it missed, in order.

/** Opens a hub stream and resolves once the hub follows its channels for it. */
async function follow(
  app: PlatformApp,
  hub: SseHub,
  channel: string,
  headers?: Record<string, string>,
): Promise<TestEventStream> {
  const before = hub.subscribers(channel);
  const stream = await app.openEventStream({ path: `/hub?channels=${channel}`, headers });
  await stream.waitFor(() => hub.subscribers(channel) > before, `a subscriber of ${channel}`);
  return stream;
}

describe.each(CONFORMANCE_PLATFORMS)('the hub on $name', (platform) => {
  let started: PlatformApp | undefined;

  afterEach(async () => {
    await started?.close();
    started = undefined;
  });

  async function start(): Promise<{ app: PlatformApp; hub: SseHub }> {
    started = await platform.createApp(
      ConformanceAppModule.with({ heartbeatMs: 0 }, [HubController]),
    );
    return { app: started, hub: started.app.get(SseHub) };
  }

  it('delivers published events to every stream of the channel, and only to them', async () => {
    const { app, hub } = await start();
    const [a1, a2, b] = [
      await follow(app, hub, 'a'),
      await follow(app, hub, 'a'),
      await follow(app, hub, 'b'),
    ];
    await hub.publish('a', { type: 'news', data: 'for a' });
    await hub.publish('b', { data: 'for b' });
    for (const stream of [a1, a2]) {
      expect((await stream.take(1)).map((e) => [e.event, e.data])).toEqual([['news', 'for a']]);
    }
    expect((await b.take(1)).map((e) => e.data)).toEqual(['for b']);
    expect(a1.events).toHaveLength(1);
    await Promise.all([a1, a2, b].map((stream) => stream.close()));
  });

  it('resumes a client from its Last-Event-ID with what it missed, in order', async () => {
    const { app, hub } = await start();
    const first = await follow(app, hub, 'feed');
    await hub.publish('feed', { data: 'one' });
    const [seen] = await first.take(1);
    await first.close();
    await eventually(() => hub.subscribers('feed') === 0, 'the first stream to leave');

    await hub.publish('feed', { data: 'two' });
    await hub.publish('feed', { data: 'three' });
    const resumed = await follow(app, hub, 'feed', { 'last-event-id': seen!.id! });
    expect((await resumed.take(2)).map((e) => e.data)).toEqual(['two', 'three']);
    await hub.publish('feed', { data: 'four' });
    expect((await resumed.take(1)).map((e) => e.data)).toEqual(['four']);
    const ids = resumed.events.map((e) => e.id!);
    expect(new Set([seen!.id, ...ids]).size).toBe(4);
    await resumed.close();
  });
});

import type { INestApplication } from '@nestjs/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StreamRegistry } from '../../src/index.js';
import { openEventStream, type TestEventStream } from '../../src/testing/index.js';
import { HeartbeatController } from '../src/production/heartbeat.controller.js';
import { LifecycleRecorder } from '../src/production/lifecycle-recorder.js';
import { startProductionApp } from '../src/production/production-app.js';

// Far below the 15 s default, so that a heartbeat seen within a few hundred ms is this one.
const HEARTBEAT_MS = 100;

describe('heartbeat and retry hint', () => {
  let app: INestApplication;
  let registry: StreamRegistry;
  let lifecycle: LifecycleRecorder;

  beforeEach(async () => {
    app = await startProductionApp({ heartbeatMs: HEARTBEAT_MS }, [HeartbeatController]);
    registry = app.get(StreamRegistry);
    lifecycle = new LifecycleRecorder(registry);
  });

  afterEach(async () => {
    lifecycle.stop();
    await app.close();
  });

  async function closeAll(streams: TestEventStream[]): Promise<void> {
    const before = lifecycle.closes().length;
    await Promise.all(streams.map((stream) => stream.close()));
    await lifecycle.waitFor(
      (l) => l.closes().length === before + streams.length,
      `${streams.length} close(s) reported by lifecycle$`,
    );
  }

  it('sends comment lines on an idle stream, every heartbeatMs', async () => {
    const stream = await openEventStream(app, { path: '/heartbeat/idle', timeoutMs: 2000 });
    const opened = Date.now();
    await stream.waitFor((s) => s.comments.length >= 3, '3 heartbeat comments');
    const elapsed = Date.now() - opened;

    expect(stream.events).toEqual([]);
    expect(stream.comments.slice(0, 3)).toEqual(['', '', '']);
    expect(stream.raw).toMatch(/^(:\n)+$/);
    // Three heartbeats of 100 ms cannot come sooner than ~2 intervals apart from the first.
    expect(elapsed).toBeGreaterThanOrEqual(2 * HEARTBEAT_MS - 20);

    await closeAll([stream]);
    expect(registry.heartbeat.timers).toBe(0);
  });

  it('sends no heartbeat on a stream that writes more often than heartbeatMs', async () => {
    const stream = await openEventStream(app, { path: '/heartbeat/busy' });
    // 20 events every 20 ms: about four heartbeat intervals of activity.
    const events = await stream.take(20);

    expect(events.map((e) => e.id)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(stream.comments).toEqual([]);

    await closeAll([stream]);
    expect(registry.heartbeat.timers).toBe(0);
  });

  it('sends no heartbeat and runs no timer for a route with heartbeatMs 0', async () => {
    const silent = await openEventStream(app, { path: '/heartbeat/silent' });
    expect(registry.heartbeat.timers).toBe(0);
    const idle = await openEventStream(app, { path: '/heartbeat/idle', timeoutMs: 2000 });
    expect(registry.heartbeat.timers).toBe(1);

    // The idle stream is the clock: three of its heartbeats are at least 200 ms.
    await idle.waitFor((s) => s.comments.length >= 3, '3 heartbeat comments on the idle stream');

    expect(silent.comments).toEqual([]);
    expect(silent.raw).toBe('');

    await closeAll([silent, idle]);
    expect(registry.heartbeat.timers).toBe(0);
  });

  it('runs one timer per distinct interval however many streams, and none once they close', async () => {
    const paths = [
      ...Array.from({ length: 20 }, () => '/heartbeat/idle'),
      ...Array.from({ length: 20 }, () => '/heartbeat/slow-beat'),
      ...Array.from({ length: 5 }, () => '/heartbeat/busy'),
    ];
    const streams = await Promise.all(
      paths.map((path) => openEventStream(app, { path, timeoutMs: 3000 })),
    );
    expect(registry.stats().open).toBe(45);
    expect(registry.heartbeat.timers).toBe(2);

    // Every idle stream, on either interval, is kept alive.
    await Promise.all(
      streams
        .filter((_, i) => paths[i] !== '/heartbeat/busy')
        .map((stream) => stream.waitFor((s) => s.comments.length >= 1, 'a heartbeat')),
    );

    await closeAll(streams.slice(0, 20));
    expect(registry.heartbeat.timers).toBe(2);
    await closeAll(streams.slice(20));
    expect(registry.stats().open).toBe(0);
    expect(registry.heartbeat.timers).toBe(0);
  });

  it('sends retryMs once, first, when the stream opens', async () => {
    const stream = await openEventStream(app, { path: '/heartbeat/hinted', timeoutMs: 2000 });
    await stream.waitFor((s) => s.comments.length >= 2, '2 heartbeats after the hint');

    expect(stream.retry).toBe(2500);
    expect(stream.raw.startsWith('retry: 2500\n')).toBe(true);
    expect(stream.raw.match(/^retry:/gm)).toHaveLength(1);

    await closeAll([stream]);
  });

  it('sends no retry hint unless retryMs is set', async () => {
    const stream = await openEventStream(app, { path: '/heartbeat/idle', timeoutMs: 2000 });
    await stream.waitFor((s) => s.comments.length >= 1, 'a heartbeat');

    expect(stream.retry).toBeUndefined();
    expect(stream.raw).not.toMatch(/^retry:/m);

    await closeAll([stream]);
  });
});

import type { INestApplication } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StreamRegistry } from '../../src/index.js';
import { openEventStream, type TestEventStream } from '../../src/testing/index.js';
import { ControlController } from '../src/production/control.controller.js';
import { LifecycleRecorder } from '../src/production/lifecycle-recorder.js';
import { startProductionApp } from '../src/production/production-app.js';

const RECONNECT = { reconnectDelayMs: 1000, reconnectJitterMs: 4000 };

function byUserHeader(request: IncomingMessage): string | undefined {
  const user = request.headers['x-user'];
  return typeof user === 'string' ? user : undefined;
}

function expectJitteredRetry(stream: TestEventStream): void {
  expect(stream.retry).toBeGreaterThanOrEqual(RECONNECT.reconnectDelayMs);
  expect(stream.retry).toBeLessThanOrEqual(
    RECONNECT.reconnectDelayMs + RECONNECT.reconnectJitterMs,
  );
}

describe('server-side control of open streams', () => {
  let app: INestApplication;
  let registry: StreamRegistry;
  let lifecycle: LifecycleRecorder;
  const streams: TestEventStream[] = [];

  beforeEach(async () => {
    app = await startProductionApp({ ...RECONNECT, clientKey: byUserHeader }, [ControlController]);
    registry = app.get(StreamRegistry);
    lifecycle = new LifecycleRecorder(registry);
  });

  afterEach(async () => {
    await Promise.all(streams.splice(0).map((stream) => stream.close()));
    lifecycle.stop();
    await app.close();
  });

  async function open(path: string, user: string, timeoutMs = 5000): Promise<TestEventStream> {
    const stream = await openEventStream(app, { path, headers: { 'x-user': user }, timeoutMs });
    streams.push(stream);
    return stream;
  }

  it('close() ends only the matching streams, each with its last event, a retry hint and the end', async () => {
    const u1a = await open('/control/feed', 'u1');
    const u1b = await open('/control/other', 'u1');
    const u2 = await open('/control/feed', 'u2');
    expect(lifecycle.opens.map((e) => e.stream.clientKey)).toEqual(['u1', 'u1', 'u2']);

    const count = registry.close((s) => s.clientKey === 'u1', {
      event: { type: 'logout', data: 'bye' },
    });
    expect(count).toBe(2);

    for (const stream of [u1a, u1b]) {
      await stream.waitForEnd();
      expect(stream.events).toEqual([expect.objectContaining({ event: 'logout', data: 'bye' })]);
      expectJitteredRetry(stream);
      expect(stream.raw.indexOf('event: logout')).toBeLessThan(stream.raw.indexOf('retry:'));
    }
    await lifecycle.waitFor((l) => l.closes().length === 2, 'two closes');
    expect(lifecycle.closes().map((e) => [e.reason, e.stream.clientKey])).toEqual([
      ['server', 'u1'],
      ['server', 'u1'],
    ]);

    // u2's stream is untouched.
    expect(u2.endedByServer).toBe(false);
    expect(u2.events).toEqual([]);
    expect(registry.list().map((s) => [s.clientKey, s.path])).toEqual([['u2', '/control/feed']]);
    expect(registry.stats().open).toBe(1);
  });

  it('close() sends the retry hint it is given, and ends nothing when nothing matches', async () => {
    const stream = await open('/control/feed', 'u1');

    expect(registry.close((s) => s.clientKey === 'nobody')).toBe(0);
    expect(registry.close((s) => s.path === '/control/feed', { retryMs: 500 })).toBe(1);

    await stream.waitForEnd();
    expect(stream.retry).toBe(500);
    expect(stream.events).toEqual([]);
    await lifecycle.waitFor((l) => l.closes('server').length === 1, 'the server close');
    expect(registry.stats().open).toBe(0);
    expect(registry.heartbeat.timers).toBe(0);
  });

  it('reports opens and closes on lifecycle$, with the reason of each close', async () => {
    const stream = await open('/control/feed', 'u3');
    const [opened] = lifecycle.opens;
    expect(opened).toMatchObject({
      type: 'open',
      stream: { handler: 'ControlController.feed', path: '/control/feed', clientKey: 'u3' },
    });
    expect(opened!.stream.openedAt).toBeLessThanOrEqual(Date.now());

    await stream.close();
    await lifecycle.waitFor((l) => l.closes().length === 1, 'the close');
    const [closed] = lifecycle.closes();
    expect(closed).toMatchObject({ type: 'close', reason: 'client' });
    expect(closed!.stream.id).toBe(opened!.stream.id);
  });

  it('ends a stream after maxLifetimeMs with a retry hint', async () => {
    const stream = await open('/control/short', 'u1', 5000);
    const opened = Date.now();

    await stream.waitForEnd();
    const lived = Date.now() - opened;

    // 1000 ms ± 10 %, rounded to whole seconds (and at least one): 1000 ms.
    expect(lived).toBeGreaterThanOrEqual(900);
    expect(lived).toBeLessThan(4000);
    expectJitteredRetry(stream);
    expect(stream.events).toEqual([]);
    await lifecycle.waitFor((l) => l.closes().length === 1, 'the lifetime close');
    expect(lifecycle.closes().map((e) => e.reason)).toEqual(['lifetime']);
    expect(registry.heartbeat.timers).toBe(0);
  });

  it('counts open streams per handler in stats()', async () => {
    const streamsOpened = [
      await open('/control/feed', 'u1'),
      await open('/control/feed', 'u2'),
      await open('/control/other', 'u1'),
    ];
    expect(registry.stats().open).toBe(3);
    expect(registry.stats().openByHandler).toEqual({
      'ControlController.feed': 2,
      'ControlController.other': 1,
    });

    await streamsOpened[0]!.close();
    await lifecycle.waitFor((l) => l.closes().length === 1, 'one close');
    expect(registry.stats().open).toBe(2);
    expect(registry.stats().openByHandler).toEqual({
      'ControlController.feed': 1,
      'ControlController.other': 1,
    });

    await Promise.all(streamsOpened.slice(1).map((s) => s.close()));
    await lifecycle.waitFor((l) => l.closes().length === 3, 'three closes');
    expect(registry.stats().open).toBe(0);
    expect(registry.stats().openByHandler).toEqual({});
    expect(registry.heartbeat.timers).toBe(0);
  });
});

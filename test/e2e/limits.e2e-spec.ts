import type { INestApplication } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type SseModuleOptions, StreamRegistry } from '../../src/index.js';
import { openEventStream, type TestEventStream } from '../../src/testing/index.js';
import { CallLog } from '../support/call-log.js';
import { LifecycleRecorder } from '../src/production/lifecycle-recorder.js';
import { LimitsController } from '../src/production/limits.controller.js';
import { startProductionApp } from '../src/production/production-app.js';

const RECONNECT = { reconnectDelayMs: 1000, reconnectJitterMs: 4000 };

function byUserHeader(request: IncomingMessage): string | undefined {
  const user = request.headers['x-user'];
  return typeof user === 'string' ? user : undefined;
}

/** A refused stream under `limitResponse: 'retry'`: 200, a retry hint, the limit event, the end. */
async function expectRefusedWithRetry(stream: TestEventStream, limit: string): Promise<void> {
  await stream.waitForEnd();
  expect(stream.status).toBe(200);
  expect(stream.headers['content-type']).toBe('text/event-stream');
  expect(stream.retry).toBeGreaterThanOrEqual(RECONNECT.reconnectDelayMs);
  expect(stream.retry).toBeLessThanOrEqual(
    2 * (RECONNECT.reconnectDelayMs + RECONNECT.reconnectJitterMs),
  );
  expect(stream.raw.indexOf('retry:')).toBeLessThan(stream.raw.indexOf('event:'));
  expect(stream.events).toHaveLength(1);
  expect(stream.events[0]!.event).toBe('connection-limit');
  expect(JSON.parse(stream.events[0]!.data)).toMatchObject({ limit, retryMs: stream.retry });
}

describe('connection limits', () => {
  let app: INestApplication;
  let registry: StreamRegistry;
  let log: CallLog;
  let lifecycle: LifecycleRecorder;
  const streams: TestEventStream[] = [];

  async function start(options: SseModuleOptions): Promise<void> {
    app = await startProductionApp({ ...RECONNECT, ...options }, [LimitsController]);
    registry = app.get(StreamRegistry);
    log = app.get(CallLog);
    lifecycle = new LifecycleRecorder(registry);
  }

  async function open(path: string, user?: string): Promise<TestEventStream> {
    const stream = await openEventStream(app, {
      path,
      headers: user === undefined ? {} : { 'x-user': user },
    });
    streams.push(stream);
    return stream;
  }

  afterEach(async () => {
    await Promise.all(streams.splice(0).map((stream) => stream.close()));
    lifecycle.stop();
    await app.close();
  });

  it('refuses a stream past maxConnections with a retry hint and a connection-limit event, without running its handler', async () => {
    await start({ maxConnections: 2 });
    const first = await open('/limits/open');
    const second = await open('/limits/open');
    expect(registry.stats().open).toBe(2);

    const third = await open('/limits/open');
    await expectRefusedWithRetry(third, 'maxConnections');

    expect(log.count('limits.open')).toBe(2);
    expect(registry.stats()).toMatchObject({ open: 2, refused: 1 });
    expect(first.endedByServer || second.endedByServer).toBe(false);
    expect(lifecycle.opens).toHaveLength(2);
  });

  it("answers 429 with Retry-After and a JSON body under limitResponse 'status'", async () => {
    await start({ maxConnections: 2, limitResponse: 'status' });
    await open('/limits/open');
    await open('/limits/open');

    const third = await open('/limits/open');
    await third.waitForEnd();

    expect(third.status).toBe(429);
    expect(third.headers['content-type']).toMatch(/^application\/json/);
    const retryAfter = Number(third.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(third.raw)).toMatchObject({ statusCode: 429, limit: 'maxConnections' });
    expect(third.events).toEqual([]);
    expect(log.count('limits.open')).toBe(2);
    expect(registry.stats()).toMatchObject({ open: 2, refused: 1 });
  });

  it("applies a route's lower maxConnections to that route only", async () => {
    await start({ maxConnections: 10 });
    await open('/limits/narrow');

    const refused = await open('/limits/narrow');
    await expectRefusedWithRetry(refused, 'maxConnections');
    expect(log.count('limits.narrow')).toBe(1);

    // The rest of the application is not held to the route's limit.
    await open('/limits/open');
    await open('/limits/open');
    expect(log.count('limits.open')).toBe(2);
    expect(registry.stats().openByHandler).toEqual({
      'LimitsController.narrow': 1,
      'LimitsController.open': 2,
    });
  });

  it('refuses a client past maxConnectionsPerClient, as told by clientKey, and admits it again once one closed', async () => {
    await start({ maxConnectionsPerClient: 2, clientKey: byUserHeader });
    const a1 = await open('/limits/open', 'alice');
    await open('/limits/open', 'alice');

    const a3 = await open('/limits/open', 'alice');
    await expectRefusedWithRetry(a3, 'maxConnectionsPerClient');

    // Another client is admitted.
    await open('/limits/open', 'bob');
    expect(log.count('limits.open')).toBe(3);
    expect(registry.list().map((s) => s.clientKey)).toEqual(['alice', 'alice', 'bob']);

    // Once one of alice's streams closed (as the server saw it), she is admitted again.
    await a1.close();
    await lifecycle.waitFor((l) => l.closes('client').length === 1, "the close of alice's stream");
    const a4 = await open('/limits/open', 'alice');
    expect(a4.status).toBe(200);
    expect(log.count('limits.open')).toBe(4);
    expect(registry.list().filter((s) => s.clientKey === 'alice')).toHaveLength(2);
    expect(registry.stats()).toMatchObject({ open: 3, refused: 1 });
  });
});

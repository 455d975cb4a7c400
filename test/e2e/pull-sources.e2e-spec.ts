import type { INestApplication } from '@nestjs/common';
import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { serializeEvent, StreamRegistry } from '../../src/index.js';
import { openEventStream } from '../../src/testing/index.js';
import { within } from '../support/deadline.js';
import { LifecycleRecorder } from '../src/production/lifecycle-recorder.js';
import { portOf, startProductionApp } from '../src/production/production-app.js';
import { PullController } from '../src/production/pull.controller.js';
import { PullProbe } from '../src/production/pull-probe.js';
import { RawEventStream } from '../src/production/raw-event-stream.js';

const SIZE = 1024;
/** Far more than the kernel's buffers of a loopback connection take (a few MiB). */
const COUNT = 20_000;

const SOURCES = [
  { kind: 'an async generator', path: '/pull/generator', releasedHow: 'finally' },
  { kind: 'a ReadableStream', path: '/pull/readable', releasedHow: 'cancel' },
] as const;

describe.each(SOURCES)('a pull source: $kind', ({ path, releasedHow }) => {
  let app: INestApplication;
  let registry: StreamRegistry;
  let probe: PullProbe;
  let lifecycle: LifecycleRecorder;

  beforeEach(async () => {
    app = await startProductionApp({}, [PullController]);
    registry = app.get(StreamRegistry);
    probe = app.get(PullProbe);
    lifecycle = new LifecycleRecorder(registry);
  });

  afterEach(async () => {
    lifecycle.stop();
    await app.close();
  });

  it('is not pulled ahead of a client that stops reading, and is released when it leaves', async () => {
    const client = await RawEventStream.open(portOf(app), `${path}?count=${COUNT}&size=${SIZE}`);
    await lifecycle.waitFor((l) => l.opens.length === 1, 'the stream to open');
    const source = probe.sources[0]!;
    const socket = registry.list()[0]!.request.socket as Socket;
    const frame = Buffer.byteLength(serializeEvent({ id: COUNT - 1, data: 'g'.repeat(SIZE) }));

    // The source runs until the socket is full: the kernel's buffers (MiBs on loopback), then
    // the socket's own, which holds bytes it cannot write yet.
    await vi.waitFor(
      () => {
        expect(source.pulls, 'events pulled').toBeGreaterThan(256);
        expect(socket.writableLength, 'bytes the full socket holds').toBeGreaterThan(0);
      },
      { timeout: 5000, interval: 5 },
    );
    expect(source.pulls).toBeLessThan(COUNT / 2);
    // Nothing was pulled that the socket did not take: no queue of events in the server.
    expect(source.pulls * frame).toBeLessThanOrEqual(socket.bytesWritten + 2 * frame);

    // Later (another stream's whole life), still paused: still nothing pulled ahead.
    const other = await openEventStream(app, { path: `${path}?count=2&size=1` });
    await other.waitForEnd();
    expect(other.events.map((e) => e.id)).toEqual(['0', '1']);
    expect(source.pulls).toBeLessThan(COUNT / 2);
    expect(source.pulls * frame).toBeLessThanOrEqual(socket.bytesWritten + 2 * frame);
    expect(source.releasedHow).toBeUndefined();

    await client.destroy();
    await within(source.released, 5000, `the source's ${releasedHow} on disconnect`);
    expect(source.releasedHow).toBe(releasedHow);
    await lifecycle.waitFor((l) => l.closes('client').length === 1, 'the client close');
    expect(registry.stats().open).toBe(0);
    expect(registry.heartbeat.timers).toBe(0);
  });

  it('is pulled to its end by a client that reads, and the response ends with it', async () => {
    const stream = await openEventStream(app, { path: `${path}?count=500&size=64` });
    await stream.waitForEnd();

    expect(stream.status).toBe(200);
    expect(stream.events.map((e) => Number(e.id))).toEqual(
      Array.from({ length: 500 }, (_, i) => i),
    );
    expect(probe.sources[0]!.pulls).toBe(500);
    await lifecycle.waitFor((l) => l.closes('complete').length === 1, 'the complete close');
    if (releasedHow === 'finally') {
      // A generator that ran to its end ran its finally block too.
      await within(probe.sources[0]!.released, 5000, 'the finally block');
    }
    expect(registry.stats()).toMatchObject({ open: 0, eventsWritten: 500 });
    expect(registry.heartbeat.timers).toBe(0);
  });

  it('is released when a reading client leaves mid-stream', async () => {
    const stream = await openEventStream(app, { path: `${path}?count=${COUNT}&size=16` });
    const first = await stream.take(3);
    expect(first.map((e) => e.id)).toEqual(['0', '1', '2']);

    await stream.close();
    const source = probe.sources[0]!;
    await within(source.released, 5000, `the source's ${releasedHow} on disconnect`);
    expect(source.releasedHow).toBe(releasedHow);
    expect(source.pulls).toBeLessThan(COUNT);
    await lifecycle.waitFor((l) => l.closes('client').length === 1, 'the client close');
    expect(registry.heartbeat.timers).toBe(0);
  });
});

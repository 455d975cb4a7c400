import compression from 'compression';
import { describe, expect, it } from 'vitest';
import type { StreamInfo } from '../../src/index.js';
import {
  attackHarness,
  eventually,
  expectAccounted,
  expectCleanFraming,
} from '../src/attack/attack-harness.js';
import { WireTap } from '../src/attack/wire-tap.js';

// Clients that stop reading, bursts, and many streams with one stalled: the budgets hold (what
// a stream queues never passes its budget), nothing is lost silently (every gap is counted in a
// reset where it is), a cut stream is released at once, and the others never notice.

const harness = attackHarness();
const KiB = 1024;

/** What a stream queues in the library itself (an internal counter, read for the bound). */
function queued(stream: StreamInfo): number {
  return (stream as unknown as { queuedBytes: number }).queuedBytes;
}

/** Samples the largest queue of any open stream on every macrotask until stopped. */
function sampleQueues(list: () => StreamInfo[]) {
  let max = 0;
  let running = true;
  const tick = () => {
    for (const stream of list()) max = Math.max(max, queued(stream));
    if (running) setImmediate(tick);
  };
  tick();
  return {
    stop: () => {
      running = false;
      return max;
    },
  };
}

describe('a client that stops reading, drop-oldest', () => {
  it('bursts interleaved with macrotasks: the queue stays within budget, every gap has a reset', async () => {
    const { port, registry, probe } = await harness.start();
    const n = 60_000;
    const sampler = sampleQueues(() => registry.list());
    const tap = await harness.tap(port, WireTap.get(`/atk/interleaved-drop?n=${n}&per=500`, port), {
      paused: true,
    });
    await probe.until(() => probe.get('interleaved-teardown') === 1, 'the producer to finish');
    const max = sampler.stop();
    expect(max).toBeLessThanOrEqual(64 * KiB);
    expect(registry.stats().eventsDropped).toBeGreaterThan(0);
    tap.resume();
    await tap.waitFor((t) => t.first?.complete === true, 'the end of the stream', 15_000);
    expectCleanFraming(tap);
    const { dropped } = expectAccounted(tap.first!.events, n);
    expect(dropped).toBe(registry.stats().eventsDropped);
    expect(registry.list()).toHaveLength(0);
  });

  it('a synchronous burst of 1e5 events after an async set-up opens with a reset, then the newest', async () => {
    const { port, registry } = await harness.start();
    const n = 100_000;
    const tap = await harness.tap(port, WireTap.get(`/atk/setup-burst-drop?n=${n}`, port));
    await tap.waitFor((t) => t.first?.complete === true, 'the end of the stream', 15_000);
    expectCleanFraming(tap);
    expect(tap.first!.events[0]!.event).toBe('reset');
    expectAccounted(tap.first!.events, n);
    expect(registry.list()).toHaveLength(0);
  });

  it('a synchronous burst of 1e5 events once open: accounted for, in order', async () => {
    const { port, registry } = await harness.start();
    const n = 100_000;
    const tap = await harness.tap(port, WireTap.get(`/atk/open-burst-drop?n=${n}`, port));
    await tap.waitFor((t) => t.first?.complete === true, 'the end of the stream', 15_000);
    expectCleanFraming(tap);
    expect(tap.first!.events[0]!.data).toBe('start');
    expectAccounted(tap.first!.events, n);
    await eventually(() => registry.list().length === 0, 'the stream to be released');
  });

  it('the client leaves while its queue is full (a reset owed): released at once', async () => {
    const { port, registry, probe } = await harness.start();
    const tap = await harness.tap(
      port,
      WireTap.get('/atk/interleaved-drop?n=100000000&per=200', port),
      { paused: true },
    );
    await eventually(() => registry.stats().eventsDropped > 0, 'events to be dropped');
    await tap.destroy();
    await probe.until(() => probe.get('interleaved-teardown') === 1, 'the producer teardown');
    await eventually(() => registry.list().length === 0, 'the stream to be released');
    expect(registry.stats().open).toBe(0);
  });
});

describe('a client that stops reading, close', () => {
  it('is cut once over budget; the producer is released; the queue never passed the budget', async () => {
    const { port, registry, probe } = await harness.start();
    const sampler = sampleQueues(() => registry.list());
    const tap = await harness.tap(
      port,
      WireTap.get('/atk/interleaved-close?n=100000000&per=200', port),
      { paused: true },
    );
    await probe.until(() => probe.get('interleaved-teardown') === 1, 'the producer teardown');
    expect(sampler.stop()).toBeLessThanOrEqual(64 * KiB);
    expect(registry.stats()).toMatchObject({ open: 0, slowClientsClosed: 1 });
    tap.resume();
    await tap.closed;
    expect(tap.violations).toEqual([]);
    // Cut, not ended: the last chunk never came.
    expect(tap.first!.complete).toBe(false);
  });

  it('a synchronous burst of 1e5 events after an async set-up is cut before the head', async () => {
    const { port, registry } = await harness.start();
    const tap = await harness.tap(port, WireTap.get('/atk/setup-burst-close?n=100000', port));
    await tap.closed;
    expect(tap.responses).toHaveLength(0);
    expect(registry.stats()).toMatchObject({ open: 0, slowClientsClosed: 1 });
    expect(registry.list()).toHaveLength(0);
  });
});

describe('the application-wide budget', () => {
  it('sheds the stalled streams; a reading stream on the same app receives everything', async () => {
    const { port, registry, probe } = await harness.start({ maxTotalBufferedBytes: 256 * KiB });
    const stalled = await Promise.all(
      [0, 1, 2].map(() =>
        harness.tap(port, WireTap.get('/atk/interleaved-default?n=100000000&per=200', port), {
          paused: true,
        }),
      ),
    );
    const reader = await harness.tap(port, WireTap.get('/atk/three', port));
    await reader.waitFor((t) => t.first?.complete === true, 'the reader to finish');
    expect(reader.first!.events.map((e) => e.data)).toEqual(['a', 'b', 'c']);
    await probe.until(
      () => probe.get('interleaved-teardown') === 3,
      'all three to be shed',
      15_000,
    );
    expect(registry.stats().slowClientsClosed).toBe(3);
    for (const tap of stalled) {
      tap.resume();
      await tap.closed;
      expect(tap.violations).toEqual([]);
    }
    expect(registry.list()).toHaveLength(0);
  });
});

describe('many streams, one stalled', () => {
  it('20 readers each get their rows accounted for while one client does not read', async () => {
    const { port, registry } = await harness.start();
    const n = 5000;
    const stalled = await harness.tap(
      port,
      WireTap.get('/atk/interleaved-drop?n=100000000&per=200', port),
      { paused: true },
    );
    const readers = await Promise.all(
      Array.from({ length: 20 }, () =>
        harness.tap(port, WireTap.get(`/atk/interleaved-drop?n=${n}&per=100`, port)),
      ),
    );
    for (const reader of readers) {
      await reader.waitFor((t) => t.first?.complete === true, 'a reader to finish', 15_000);
      expectCleanFraming(reader);
      expectAccounted(reader.first!.events, n);
    }
    expect(registry.list()).toHaveLength(1);
    await stalled.destroy();
    await eventually(() => registry.list().length === 0, 'the stalled one to be released');
  });
});

describe('compression middleware and backpressure', () => {
  it('a gzip client that stops reading: bounded, and every gap has a reset once it reads', async () => {
    const { port, registry, probe } = await harness.start({}, (app) => app.use(compression()));
    const n = 40_000;
    const sampler = sampleQueues(() => registry.list());
    const tap = await harness.tap(
      port,
      WireTap.get(`/atk/compressible-drop?n=${n}&per=500`, port, { 'Accept-Encoding': 'gzip' }),
      { paused: true, gunzip: true },
    );
    await probe.until(() => probe.get('interleaved-teardown') === 1, 'the producer to finish');
    expect(sampler.stop()).toBeLessThanOrEqual(64 * KiB);
    tap.resume();
    await tap.waitFor((t) => t.first?.complete === true, 'the end of the stream', 15_000);
    expect(tap.first!.headers.get('content-encoding')).toBe('gzip');
    expectCleanFraming(tap);
    // The gzip trailer is flushed with the last chunk; give the decoder the turn it needs.
    await eventually(
      () => tap.first!.events.length > 0 && tap.first!.events.at(-1)!.id === String(n - 1),
      'the last row to be decoded',
    );
    expectAccounted(tap.first!.events, n);
    expect(registry.list()).toHaveLength(0);
  });
});

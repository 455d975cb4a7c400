import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/sse.options.js';
import {
  attackHarness,
  eventually,
  expectAccounted,
  expectCleanFraming,
} from '../src/attack/attack-harness.js';
import { WireTap } from '../src/attack/wire-tap.js';

// A stream the server ends while its client is not reading is closing: it is no longer open
// (list(), stats(), close() skip it), but its queue is written only as the socket drains, its
// bytes stay in maxTotalBufferedBytes and its slot in the limits until they left, and after
// closeGraceMs it is cut.

const harness = attackHarness();
// ~10 MB of rows: more than loopback's socket buffers take, so the client's socket fills.
const ROWS = 100_000;
const stalled = (port: number) =>
  harness.tap(port, WireTap.get(`/atk/interleaved-drop?n=${ROWS}&per=500`, port), {
    paused: true,
  });

describe('a stream ended while its client does not read', () => {
  it('is not open, its bytes stay counted, and it all arrives once the client reads', async () => {
    const { port, registry, probe } = await harness.start();
    const tap = await stalled(port);
    await probe.until(() => probe.get('interleaved-teardown') === 1, 'the producer to finish');
    expect(registry.list()).toHaveLength(0);
    expect(registry.stats().open).toBe(0);
    expect(registry.close(() => true)).toBe(0);
    expect(registry.bufferedBytes).toBeGreaterThan(0);
    tap.resume();
    await tap.waitFor((t) => t.first?.complete === true, 'the end');
    expectCleanFraming(tap);
    expectAccounted(tap.first!.events, ROWS);
    await eventually(() => registry.bufferedBytes === 0, 'the budget given back');
  });

  it('keeps its connection slot until its bytes left', async () => {
    const { port, registry, probe } = await harness.start({ maxConnections: 1 });
    const tap = await stalled(port);
    await probe.until(() => probe.get('interleaved-teardown') === 1, 'the producer to finish');
    const refused = await harness.tap(port, WireTap.get('/atk/quiet', port));
    await refused.waitFor((t) => t.first?.complete === true, 'the refusal');
    expect(refused.first!.events.map((e) => e.event)).toEqual(['connection-limit']);
    tap.resume();
    await tap.waitFor((t) => t.first?.complete === true, 'the end');
    await eventually(
      () => registry.stats().refused === 1 && registry.bufferedBytes === 0,
      'flushed',
    );
    const next = await harness.tap(port, WireTap.get('/atk/quiet', port));
    await next.waitFor((t) => t.first?.events.length === 1, 'a stream within the limit');
    expect(next.first!.events[0]!.event).toBeUndefined();
  });

  it('is cut after closeGraceMs, giving its slot and its bytes back', async () => {
    const { port, registry, probe } = await harness.start({ maxConnections: 1, closeGraceMs: 50 });
    const tap = await stalled(port);
    await probe.until(() => probe.get('interleaved-teardown') === 1, 'the producer to finish');
    await eventually(() => registry.stats().slowClientsClosed === 1, 'the cut');
    expect(registry.bufferedBytes).toBe(0);
    const next = await harness.tap(port, WireTap.get('/atk/quiet', port));
    await next.waitFor((t) => t.first?.events.length === 1, 'a stream within the limit');
    expect(next.first!.events[0]!.event).toBeUndefined();
    tap.resume();
    await tap.closed;
    expect(tap.first!.complete).toBe(false);
  });
});

describe('closeGraceMs', () => {
  it.each([-1, 1.5, Infinity, '5000'])('refuses %s', (value) => {
    expect(() => resolveOptions({ closeGraceMs: value as number })).toThrow(
      /closeGraceMs.*whole number of milliseconds/,
    );
  });

  it('defaults to 5000', () => {
    expect(resolveOptions({}).closeGraceMs).toBe(5000);
  });
});

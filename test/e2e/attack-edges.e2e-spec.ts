import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  attackHarness,
  eventually,
  expectAccounted,
  expectCleanFraming,
} from '../src/attack/attack-harness.js';
import { WireTap } from '../src/attack/wire-tap.js';

// Odd corners: re-entrant closes, the socket a keep-alive connection reuses for many streams,
// the non-direct write path (HTTP/1.0) under backpressure, and what gets logged for one failure.

const harness = attackHarness();

describe('re-entrancy', () => {
  it('a lifecycle$ subscriber that closes each stream as it opens: ended cleanly, released', async () => {
    const { port, registry } = await harness.start();
    const subscription = registry.lifecycle$.subscribe((event) => {
      if (event.type === 'open') registry.close((stream) => stream === event.stream);
    });
    const tap = await harness.tap(port, WireTap.get('/atk/quiet', port));
    await tap.waitFor((t) => t.first?.complete === true, 'the end');
    expectCleanFraming(tap);
    expect(tap.first!.retry).toBeGreaterThan(0);
    await eventually(() => registry.list().length === 0, 'released');
    subscription.unsubscribe();
  });
});

describe('one keep-alive connection, many streams', () => {
  it('20 streams in turn on one socket leave no listener behind on it', async () => {
    const { app, port, registry } = await harness.start();
    const sockets: Socket[] = [];
    (app.getHttpServer() as Server).on('connection', (socket) => sockets.push(socket));
    const counts = () =>
      Object.fromEntries(
        sockets[0]!.eventNames().map((name) => [String(name), sockets[0]!.listenerCount(name)]),
      );
    const tap = await harness.tap(port, WireTap.get('/atk/three', port));
    await tap.waitFor((t) => t.responses[0]?.complete === true, 'the first stream');
    const after1 = counts();
    for (let i = 1; i < 20; i++) {
      tap.socket.write(WireTap.get('/atk/three', port));
      await tap.waitFor((t) => t.responses[i]?.complete === true, `stream ${i}`);
    }
    expectCleanFraming(tap);
    expect(sockets).toHaveLength(1);
    expect(counts()).toEqual(after1);
    expect(registry.list()).toHaveLength(0);
  });
});

describe('HTTP/1.0 (writes through the response, no chunks) under backpressure', () => {
  it('drop-oldest with a client that stops reading: every gap has a reset', async () => {
    const { port, probe } = await harness.start();
    const n = 40_000;
    const tap = await harness.tap(
      port,
      WireTap.get(`/atk/interleaved-drop?n=${n}&per=500`, port, {}, '1.0'),
      { paused: true },
    );
    await probe.until(() => probe.get('interleaved-teardown') === 1, 'the producer to finish');
    tap.resume();
    await tap.closed;
    expectCleanFraming(tap);
    expectAccounted(tap.first!.events, n);
  });
});

// When a ReadableStream errors, the stream ends with stream-error and logs the failure once:
// releasing an errored (or ended) source only lets go of its lock, since cancel() would reject
// with that same error and log it again as "releasing the event source failed".
describe('a ReadableStream that errors is logged once (its failure, not its release)', () => {
  it('a ReadableStream that errors is logged once (not again when it is let go)', async () => {
    const { port, registry } = await harness.start();
    const tap = await harness.tap(port, WireTap.get('/atk/readable?kind=error-pull', port));
    await tap.waitFor((t) => t.first?.complete === true, 'the end');
    await eventually(() => registry.list().length === 0, 'released');
    // The cancel() of an errored stream rejects with the same error: let a turn pass for it.
    await new Promise((resolve) => setImmediate(resolve));
    expect(harness.logged).toHaveLength(1);
  });
});

// A stream the server ends (its source completed, close(), maxLifetimeMs) while its client does
// not read is closing: its queue is written as the socket drains, never dumped into it, and stays
// in the global budget (and its slot in the limits) until written, or cut after closeGraceMs. A
// client that opens streams, stops reading and lets them end cannot pile up bytes outside them.
describe('bytes of ended streams whose client does not read stay within the budgets', () => {
  it('what ended streams still hold stays within maxTotalBufferedBytes', async () => {
    const KiB = 1024;
    const { app, port, registry, probe } = await harness.start({
      maxTotalBufferedBytes: 256 * KiB,
    });
    const sockets: Socket[] = [];
    (app.getHttpServer() as Server).on('connection', (socket) => sockets.push(socket));
    const clients = 10;
    for (let i = 0; i < clients; i++) {
      await harness.tap(port, WireTap.get('/atk/interleaved-drop?n=100000&per=500', port), {
        paused: true,
      });
    }
    await probe.until(() => probe.get('interleaved-teardown') === clients, 'every producer done');
    expect(registry.list()).toHaveLength(0);
    const held = sockets.reduce((sum, socket) => sum + socket.writableLength, 0);
    expect(held).toBeLessThanOrEqual(256 * KiB);
  });
});

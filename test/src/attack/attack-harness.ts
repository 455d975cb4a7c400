import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, expect, vi } from 'vitest';
import { StreamRegistry, type SseModuleOptions } from '../../../src/index.js';
import { portOfApp, startAttackApp } from './attack-app.js';
import { AttackProbe } from './attack-probe.js';
import { WireTap } from './wire-tap.js';

/**
 * The common frame of an attack suite: one app per test, every socket a test opened closed
 * after it, and the process watched: an uncaught exception or an unhandled rejection anywhere
 * fails the test that caused it.
 */
export function attackHarness() {
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);
  let app: INestApplication | undefined;
  const taps: WireTap[] = [];
  const logged: string[] = [];

  beforeAll(() => {
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
  });
  afterAll(() => {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  });
  afterEach(async () => {
    for (const tap of taps.splice(0)) tap.socket.destroy();
    await app?.close();
    app = undefined;
    logged.length = 0;
    const seen = crashes.splice(0);
    expect(seen.map((error) => String((error as Error)?.stack ?? error))).toEqual([]);
  });

  return {
    logged,
    crashes,
    async start(options: SseModuleOptions = {}, beforeListen?: (app: INestApplication) => void) {
      app = await startAttackApp(options, beforeListen);
      vi.spyOn(app.get(StreamRegistry).logger, 'error').mockImplementation((message, stack) => {
        logged.push(`${String(message)}\n${String(stack)}`);
      });
      return {
        app,
        registry: app.get(StreamRegistry),
        probe: app.get(AttackProbe),
        port: portOfApp(app),
      };
    },
    /** Opens a tap (see {@link WireTap.open}) that the harness closes after the test. */
    async tap(port: number, request: string, options?: Parameters<typeof WireTap.open>[2]) {
      const tap = await WireTap.open(port, request, options);
      taps.push(tap);
      return tap;
    },
    registry: () => app!.get(StreamRegistry),
    /** Ends the app now (a test that asserts on what close does). */
    async closeApp() {
      const running = app;
      app = undefined;
      await running?.close();
    },
  };
}

/** Resolves once `predicate` holds, polling on macrotasks; fails with `what` after a deadline. */
/**
 * The sockets the app's server accepts from now on, and the listener count per event on the
 * first: what a keep-alive connection must not collect stream after stream.
 */
export function watchSockets(app: INestApplication) {
  const sockets: Socket[] = [];
  (app.getHttpServer() as Server).on('connection', (socket: Socket) => sockets.push(socket));
  const listenerCounts = () =>
    Object.fromEntries(
      sockets[0]!.eventNames().map((name) => [String(name), sockets[0]!.listenerCount(name)]),
    );
  return { sockets, listenerCounts };
}

export async function eventually(predicate: () => boolean, what: string, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Every response of a tap is well framed: no violations, no zero-size chunk but the last. */
export function expectCleanFraming(tap: WireTap): void {
  expect(tap.violations).toEqual([]);
  for (const response of tap.responses) {
    const zeros = response.chunkSizes.map((size, i) => [size, i] as const).filter(([s]) => s === 0);
    for (const [, index] of zeros) expect(index).toBe(response.chunkSizes.length - 1);
  }
}

/**
 * Checks that every row of `0..total-1` is accounted for, in order: each one either arrived,
 * or was counted in a `reset` sent where it would have been (never a silent gap). Returns how
 * many arrived and how many were reported dropped.
 */
export function expectAccounted(
  events: Array<{ event?: string; data: string; id?: string }>,
  total: number,
  { allowCutTail = false }: { allowCutTail?: boolean } = {},
): { received: number; dropped: number; resets: number } {
  let expected = 0;
  let pending = 0;
  let received = 0;
  let dropped = 0;
  let resets = 0;
  for (const event of events) {
    if (event.event === 'reset') {
      const body = JSON.parse(event.data) as { reason: string; dropped: number };
      expect(body.reason).toBe('slow-client');
      expect(body.dropped).toBeGreaterThan(0);
      pending += body.dropped;
      dropped += body.dropped;
      resets++;
      continue;
    }
    if (event.id === undefined) continue;
    const id = Number(event.id);
    expect(id, `row ${id} after ${expected} with ${pending} reported dropped`).toBe(
      expected + pending,
    );
    expected = id + 1;
    pending = 0;
    received++;
  }
  if (!allowCutTail) expect(expected + pending).toBe(total);
  return { received, dropped, resets };
}

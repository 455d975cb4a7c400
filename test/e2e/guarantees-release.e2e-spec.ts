import type { INestApplication } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type StreamInfo, StreamRegistry } from '../../src/index.js';
import { openEventStream } from '../../src/testing/index.js';
import { nextTurn, within } from '../support/deadline.js';
import { startGuaranteesApp } from '../src/guarantees/guarantees-app.js';
import { GuaranteesProbe } from '../src/guarantees/guarantees-probe.js';
import { portOf } from '../src/production/production-app.js';

// What a stream holds is let go when its client leaves: a pull source waiting on a quiet
// upstream does not keep the closed connection, its AbortSignal stops it, an async set-up gives
// its connection-limit slot back as the client goes, and a generator's failing `finally` is
// reported.

const CYCLES = 20;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let running: INestApplication | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(): Promise<INestApplication> {
  running = await startGuaranteesApp();
  return running;
}

/** Opens and drops `CYCLES` streams of `path`, one after the other; returns what they were. */
async function cycle(app: INestApplication, path: string): Promise<Array<WeakRef<StreamInfo>>> {
  const registry = app.get(StreamRegistry);
  const opened: Array<WeakRef<StreamInfo>> = [];
  let closes = 0;
  const subscription = registry.lifecycle$.subscribe((event) => {
    if (event.type === 'open') opened.push(new WeakRef(event.stream));
    else closes++;
  });
  for (let i = 0; i < CYCLES; i++) {
    const stream = await openEventStream(app, { path });
    expect(stream.status).toBe(200);
    await stream.close();
    await within(
      until(() => closes === i + 1),
      2000,
      `the close of stream ${i}`,
    );
  }
  subscription.unsubscribe();
  return opened;
}

/** Resolves once `predicate` holds, checking on each macrotask. */
async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await nextTurn();
}

/** How many of them are still reachable after a full collection. */
async function alive(refs: Array<WeakRef<object>>): Promise<number> {
  // A WeakRef's target is kept until the end of the job that made or read it.
  await nextTurn();
  gc();
  await nextTurn();
  gc();
  return refs.filter((ref) => ref.deref() !== undefined).length;
}

describe('a pull source waiting on a quiet upstream', () => {
  it('stops with its AbortSignal when the client leaves: no listener is left', async () => {
    const app = await start();
    const probe = app.get(GuaranteesProbe);
    const first = await openEventStream(app, { path: '/g/quiet-signalled' });
    await until(() => probe.upstream.listenerCount('msg') === 1);
    probe.upstream.emit('msg', 'hello');
    expect((await first.take(1))[0]?.data).toBe('hello');
    await first.close();
    await until(() => probe.upstream.listenerCount('msg') === 0);

    const streams = await cycle(app, '/g/quiet-signalled');
    await until(() => probe.upstream.listenerCount('msg') === 0);
    expect(await alive(streams)).toBe(0);
  });

  it('does not keep the closed connection, even when the source never hears of the close', async () => {
    const app = await start();
    const probe = app.get(GuaranteesProbe);
    const streams = await cycle(app, '/g/quiet');
    // The sources themselves wait for a message that never comes (their listeners are the
    // user's to remove, with the signal); what they hold is not the connection.
    expect(probe.upstream.listenerCount('msg')).toBe(CYCLES);
    expect(await alive(streams)).toBe(0);
    expect(app.get(StreamRegistry).stats().open).toBe(0);
  });
});

describe("an async generator's finally that throws", () => {
  it('is logged when the client leaves, like a failing Observable teardown', async () => {
    const app = await start();
    const logged: string[] = [];
    vi.spyOn(app.get(StreamRegistry).logger, 'error').mockImplementation((message, stack) => {
      logged.push(`${String(message)}\n${String(stack)}`);
    });
    const stream = await openEventStream(app, { path: '/g/finally-throws' });
    await stream.take(1);
    await stream.close();
    await within(
      until(() => logged.length > 0),
      2000,
      'the log of the failing finally',
    );
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(
      'GuaranteesController.finallyThrows: releasing the event source failed',
    );
    expect(logged[0]).toContain('the cleanup failed');
  });
});

describe('a client that leaves during an async set-up', () => {
  it('gives its connection-limit slot back as it goes, not when the set-up settles', async () => {
    const app = await start();
    const probe = app.get(GuaranteesProbe);
    const gone = httpRequest({
      host: '127.0.0.1',
      port: portOf(app),
      path: '/g/gated',
      headers: { accept: 'text/event-stream' },
      agent: false,
    });
    gone.once('error', () => undefined);
    gone.end();
    await within(
      probe.until(() => probe.setups === 1),
      2000,
      'the first set-up',
    );
    gone.destroy();
    await within(
      probe.until(() => probe.aborts === 1),
      2000,
      'the server to see the client go',
    );

    // The first set-up still waits; the route allows one stream, and none is open.
    const next = await openEventStream(app, { path: '/g/gated' });
    const [event] = await next.take(1);
    expect(event).toMatchObject({ event: undefined, data: 'ok' });
    expect(app.get(StreamRegistry).stats().open).toBe(1);
    await next.close();
    probe.openGate();
  });
});

describe('a handler whose returned value cannot be attached', () => {
  it.each(['throwing', 'throwing-then', 'number'])(
    'answers 500 and gives its connection-limit slot back (%s)',
    async (kind) => {
      const app = await start();
      for (let i = 0; i < 3; i++) {
        const refused = await openEventStream(app, { path: `/g/one-slot?kind=${kind}` });
        expect(refused.status).toBe(500);
        await refused.close();
      }
      // The route allows one stream: a slot kept by any of the three would refuse this one.
      const next = await openEventStream(app, { path: '/g/one-slot' });
      expect(next.status).toBe(200);
      const [event] = await next.take(1);
      expect(event).toMatchObject({ data: 'ok' });
      await next.close();
    },
  );
});

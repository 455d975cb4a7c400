import type { INestApplication } from '@nestjs/common';
import type { Socket } from 'node:net';
import type { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  serializeEvent,
  type SseEvent,
  type SseModuleOptions,
  StreamRegistry,
} from '../../src/index.js';
import { nextTurn, within } from '../support/deadline.js';
import { EventFeed } from '../src/production/event-feed.js';
import { FeedController } from '../src/production/feed.controller.js';
import { LifecycleRecorder } from '../src/production/lifecycle-recorder.js';
import { portOf, startProductionApp } from '../src/production/production-app.js';
import { RawEventStream } from '../src/production/raw-event-stream.js';

const KIB = 1024;
const BUDGET = 64 * KIB;
const DATA = 'x'.repeat(KIB);
/** Upper bound of any flood: far more than loopback's kernel buffers hold, and bounded. */
const MAX_EVENTS = 32_768;

function eventNo(id: number): SseEvent {
  return { id, data: DATA };
}

function frameBytes(id: number): number {
  return Buffer.byteLength(serializeEvent(eventNo(id)));
}

function ids(events: Array<{ id?: string }>): number[] {
  return events.map((event) => Number(event.id));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/**
 * Pushes events `from`, `from + 1`... as fast as the sockets take them (a turn of the event
 * loop every 16 events, so they write to the kernel: a burst within one tick is not a slow
 * client), until `done` or `to`. Returns the next id and the bytes of the frames pushed.
 */
async function flood(
  channel: Subject<SseEvent>,
  from: number,
  done: () => boolean,
  to = MAX_EVENTS,
): Promise<{ next: number; bytes: number }> {
  let next = from;
  let bytes = 0;
  while (next < to && !done()) {
    bytes += frameBytes(next);
    channel.next(eventNo(next++));
    if (next % 16 === 0) await nextTurn();
  }
  return { next, bytes };
}

/**
 * Pushes until the kernel refuses more: after a turn of the event loop, the socket still
 * holds bytes it could not write. Returns the next id.
 */
async function fillKernel(channel: Subject<SseEvent>, from: number, socket: Socket) {
  let next = from;
  do {
    for (const end = next + 16; next < end;) channel.next(eventNo(next++));
    await nextTurn();
  } while (socket.writableLength === 0 && next < MAX_EVENTS);
  expect(next, 'events pushed before the kernel was full').toBeLessThan(MAX_EVENTS);
  return next;
}

/**
 * Asserts that `events` are what the kernel held, in order from the first event, then one reset,
 * then the newest, in order, to event `pushed - 1`, with a gap of exactly `dropped` events.
 * Returns the reset's data and the ids after it.
 */
function expectOneGap(
  events: Array<{ event?: string; id?: string; data: string }>,
  pushed: number,
  dropped: number,
): { reset: unknown; after: number[] } {
  const resets = events.filter((e) => e.event === 'reset');
  expect(resets).toHaveLength(1);
  const resetAt = events.indexOf(resets[0]!);
  const before = ids(events.slice(0, resetAt));
  const after = ids(events.slice(resetAt + 1));
  expect(before).toEqual(range(0, before.length));
  expect(after).toEqual(range(pushed - after.length, pushed));
  // The gap is exactly what was dropped.
  expect(after[0]! - before.length).toBe(dropped);
  return { reset: JSON.parse(resets[0]!.data), after };
}

describe('slow clients', () => {
  let app: INestApplication;
  let registry: StreamRegistry;
  let lifecycle: LifecycleRecorder;
  const clients: RawEventStream[] = [];

  async function start(options: SseModuleOptions): Promise<void> {
    app = await startProductionApp(options, [FeedController]);
    registry = app.get(StreamRegistry);
    lifecycle = new LifecycleRecorder(registry);
  }

  /** A client that sends its request and reads nothing, once its stream is open on the server. */
  async function pausedClient(path: string): Promise<RawEventStream> {
    const opens = lifecycle.opens.length;
    const client = await RawEventStream.open(portOf(app), path);
    clients.push(client);
    await lifecycle.waitFor((l) => l.opens.length > opens, `the stream of ${path} to open`);
    return client;
  }

  function serverSocketOf(path: string): Socket {
    const stream = registry.list().find((s) => s.path === path);
    expect(stream, `an open stream on ${path}`).toBeDefined();
    return stream!.request.socket as Socket;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.destroy()));
    lifecycle.stop();
    await app.close();
  });

  it("closes a client past maxBufferedBytes under 'close', after holding no more than its budget", async () => {
    await start({ maxBufferedBytes: BUDGET, slowClientPolicy: 'close' });
    const client = await pausedClient('/feed/flood');
    const channel = app.get(EventFeed).channel('flood');

    // The close happens inside the push that exceeds the budget: what was pushed until then is
    // what the kernel's buffers took, plus what the server held for this client.
    const { next: pushed, bytes: pushedBytes } = await flood(
      channel,
      0,
      () => lifecycle.closes().length > 0,
    );

    expect(pushed).toBeLessThan(MAX_EVENTS);
    expect(lifecycle.closes().map((c) => [c.reason, c.stream.path])).toEqual([
      ['slow-client', '/feed/flood'],
    ]);
    expect(registry.stats()).toMatchObject({ open: 0, slowClientsClosed: 1, eventsDropped: 0 });
    // The source was released with the connection.
    expect(channel.observed).toBe(false);

    // The client reads what its kernel got, then sees the connection cut, not ended.
    client.resume();
    await within(client.closed, 10_000, 'the slow client to see its connection closed');
    expect(client.status).toBe(200);
    expect(client.bodyComplete).toBe(false);
    const delivered = ids(client.events);
    expect(delivered).toEqual(range(0, delivered.length));

    const deliveredBytes = delivered.reduce((sum, id) => sum + frameBytes(id), 0);
    // The kernel took bytes first: a client that stopped reading, not a burst. (How much it takes
    // depends on the machine's socket buffers and load, so no more is asserted of it.)
    expect(deliveredBytes).toBeGreaterThan(0);
    const heldByServer = pushedBytes - deliveredBytes;
    // Past the budget by one frame at most (plus a frame cut in the kernel), never more.
    expect(heldByServer).toBeLessThanOrEqual(BUDGET + 2 * frameBytes(pushed));
    // Not closed long before the budget either. The bytes of a write the kernel is taking in
    // part still count as held (res.writableLength), so the margin is a corked batch of frames.
    expect(heldByServer).toBeGreaterThan(BUDGET - 17 * frameBytes(pushed));
    expect(registry.heartbeat.timers).toBe(0);
  });

  it("keeps a slow client under 'drop-oldest', and tells it of the gap with a reset event", async () => {
    await start({ maxBufferedBytes: BUDGET, slowClientPolicy: 'drop-oldest' });
    const client = await pausedClient('/feed/flood');
    const channel = app.get(EventFeed).channel('flood');

    const firstDrop = await flood(channel, 0, () => registry.stats().eventsDropped > 0);
    expect(firstDrop.next).toBeLessThan(MAX_EVENTS);
    // 300 more in one synchronous run (no drain can come between them): the newest are kept.
    const pushed = firstDrop.next + 300;
    for (let id = firstDrop.next; id < pushed; id++) channel.next(eventNo(id));

    expect(lifecycle.closes()).toEqual([]);
    const { eventsDropped, open, slowClientsClosed } = registry.stats();
    expect({ open, slowClientsClosed }).toEqual({ open: 1, slowClientsClosed: 0 });
    expect(eventsDropped).toBeGreaterThanOrEqual(300);

    client.resume();
    const newest = String(pushed - 1);
    await client.waitFor((c) => c.events.at(-1)?.id === newest, `event ${newest}`, 10_000);

    const { reset, after } = expectOneGap(client.events, pushed, eventsDropped);
    expect(reset).toMatchObject({ dropped: eventsDropped });
    // What the server kept for the client while it did not read stayed within the budget.
    const keptBytes = after.reduce((sum, id) => sum + frameBytes(id), 0);
    expect(keptBytes).toBeLessThanOrEqual(BUDGET);
    expect(keptBytes).toBeGreaterThan(BUDGET / 2);

    // The connection is still live: the next event arrives, with no new gap.
    channel.next(eventNo(pushed));
    await client.waitFor((c) => c.events.at(-1)?.id === String(pushed), `event ${pushed}`);
    expect(client.events.filter((e) => e.event === 'reset')).toHaveLength(1);
    expect(registry.stats().slowClientsClosed).toBe(0);

    await client.destroy();
    await lifecycle.waitFor((l) => l.closes('client').length === 1, 'the client close');
    expect(registry.heartbeat.timers).toBe(0);
  });

  it("tells of a gap under 'drop-oldest' even when the stream ends before the client reads again", async () => {
    await start({ maxBufferedBytes: BUDGET, slowClientPolicy: 'drop-oldest' });
    const client = await pausedClient('/feed/ending');
    const channel = app.get(EventFeed).channel('ending');

    const firstDrop = await flood(channel, 0, () => registry.stats().eventsDropped > 0);
    expect(firstDrop.next).toBeLessThan(MAX_EVENTS);
    const pushed = firstDrop.next;
    // The source ends while the queue still waits for the socket: what is queued is written,
    // and the reset before it.
    channel.complete();

    client.resume();
    await client.waitFor((c) => c.bodyComplete, 'the end of the response', 10_000);
    const { eventsDropped } = registry.stats();
    const { reset } = expectOneGap(client.events, pushed, eventsDropped);
    expect(reset).toMatchObject({ reason: 'slow-client', dropped: eventsDropped });
    await lifecycle.waitFor((l) => l.closes('complete').length === 1, 'the complete close');
  });

  it('closes the worst offenders first when the total of queued bytes passes maxTotalBufferedBytes', async () => {
    const total = 256 * KIB;
    // Each connection's own budget (1 MiB by default) is far from reached: the global one acts.
    await start({ maxTotalBufferedBytes: total });
    const big = await pausedClient('/feed/big');
    const small = await pausedClient('/feed/small');
    const feed = app.get(EventFeed);

    // Both clients' kernel buffers full first, so that what follows waits in the server.
    const bigFilled = await fillKernel(feed.channel('big'), 0, serverSocketOf('/feed/big'));
    const smallFilled = await fillKernel(feed.channel('small'), 0, serverSocketOf('/feed/small'));

    // Then, in one synchronous run (no drain between): about 200 KiB of backlog for the big
    // client, and the small one's backlog grows until the total passes the budget. The small
    // client tips it over, but the big one is the worst offender.
    const bigPushed = bigFilled + 200;
    for (let id = bigFilled; id < bigPushed; id++) feed.channel('big').next(eventNo(id));
    expect(lifecycle.closes()).toEqual([]);
    let smallPushed = smallFilled;
    while (smallPushed < smallFilled + 256 && lifecycle.closes().length === 0) {
      feed.channel('small').next(eventNo(smallPushed++));
    }

    expect(lifecycle.closes().map((c) => [c.reason, c.stream.path])).toEqual([
      ['slow-client', '/feed/big'],
    ]);
    expect(registry.list().map((s) => s.path)).toEqual(['/feed/small']);
    expect(registry.stats()).toMatchObject({ open: 1, slowClientsClosed: 1 });

    // The one kept loses nothing: it reads every event, in order, once it reads again.
    feed.channel('small').next(eventNo(smallPushed));
    small.resume();
    await small.waitFor(
      (c) => c.events.at(-1)?.id === String(smallPushed),
      `event ${smallPushed} on the small stream`,
      10_000,
    );
    expect(ids(small.events)).toEqual(range(0, smallPushed + 1));

    // The one closed reads what its kernel got, without a gap, then sees its connection cut.
    big.resume();
    await within(big.closed, 10_000, 'the big client to see its connection closed');
    expect(big.bodyComplete).toBe(false);
    expect(ids(big.events)).toEqual(range(0, big.events.length));

    await small.destroy();
    await lifecycle.waitFor((l) => l.closes('client').length === 1, 'the small client close');
    expect(registry.heartbeat.timers).toBe(0);
  });
});

import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { expectChromium, launchChromium, skipWithoutChromium } from '../support/chromium.js';
import {
  memoryBroker,
  redisBroker,
  type RetentionOptions,
  type SseBroker,
  SseHub,
  type SseModuleOptions,
} from '../../src/index.js';
import {
  openEventStream,
  type ParsedEvent,
  type TestEventStream,
} from '../../src/testing/index.js';
import { nextTurn, within } from '../support/deadline.js';
import {
  deleteKeys,
  REDIS_URL,
  redisAvailable,
  reportRedisAvailability,
  uniqueKeyPrefix,
} from '../support/redis.js';
import { CountingBroker } from '../src/hub/counting.broker.js';
import { GapBroker } from '../src/hub/gap.broker.js';
import type { OwnedPayload } from '../src/hub/hub-patterns.controller.js';
import { HubAppModule } from '../src/hub/hub-app.module.js';
import { ReconnectGate } from '../src/hub/reconnect-gate.js';

// What the README promises of hub streams beyond publish and replay: per-user filtering (an
// operator piped on, or the `filter` option) that still resumes with backpressure, a position
// from the first byte, cursors that do not care about channel order, a broker that fell behind,
// events nobody can change once published, and a memory broker that forgets what holds nothing.

const available = await redisAvailable();
reportRedisAvailability(available, 'hub-patterns.e2e-spec');
const RUN_PREFIX = uniqueKeyPrefix('hub-patterns');

const NO_BROWSER = skipWithoutChromium('hub-patterns.e2e-spec', 'run its browser test');

afterAll(async () => {
  if (available) await deleteKeys(RUN_PREFIX);
});

let apps: INestApplication[] = [];
const streams: TestEventStream[] = [];

afterEach(async () => {
  for (const stream of streams.splice(0)) await stream.close();
  for (const app of apps.splice(0)) await app.close();
});

interface StartOptions {
  broker?: SseBroker;
  retention?: RetentionOptions;
  module?: Omit<SseModuleOptions, 'broker'>;
}

async function start(options: StartOptions = {}) {
  const inner = options.broker ?? memoryBroker({ retention: options.retention });
  // Counts the hub's subscriptions: a memory broker delivers to a subscription from the moment
  // it is taken, so a test may publish once the count is reached.
  const counting = inner instanceof CountingBroker ? inner : new CountingBroker(inner);
  const moduleRef = await Test.createTestingModule({
    imports: [HubAppModule.register({ heartbeatMs: 0, ...options.module, broker: counting })],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  apps.push(app);
  await app.listen(0, '127.0.0.1');
  return { app, hub: app.get(SseHub), gate: app.get(ReconnectGate), counting };
}

async function open(
  app: INestApplication,
  path: string,
  lastEventId?: string,
): Promise<TestEventStream> {
  const headers = lastEventId === undefined ? undefined : { 'last-event-id': lastEventId };
  const stream = await openEventStream(app, { path, headers, timeoutMs: 10_000 });
  streams.push(stream);
  expect(stream.status).toBe(200);
  return stream;
}

/** `/hub?channels=…`: the plain hub stream of the fixture. */
function hubPath(channels: string[]): string {
  return `/hub?channels=${encodeURIComponent(channels.join(','))}`;
}

/** The position a stream opened with: its first frame, an `id:` line alone. */
async function openingPosition(stream: TestEventStream): Promise<string> {
  // An id-only frame dispatches nothing, so TestEventStream wakes no waiter for it: polled.
  await waitUntil(() => /(?:^|\n)id: [^\n]*\n\n/.test(stream.raw), 'the opening position');
  const match = /^(?:retry: \d+\n)?id: ([^\n]*)\n\n/.exec(stream.raw);
  expect(match, `the stream opens with an id-only frame: ${JSON.stringify(stream.raw)}`).not.toBe(
    null,
  );
  return match![1]!;
}

function payloads(events: ParsedEvent[]): OwnedPayload[] {
  return events.map((event) => JSON.parse(event.data) as OwnedPayload);
}

/** Publishes `count` events numbered from `from`, for u1 and u2 in turn; their ids. */
async function publishOwned(
  hub: SseHub,
  channel: string,
  from: number,
  count: number,
  pad?: string,
): Promise<Array<{ id: string; payload: OwnedPayload }>> {
  const published = [];
  for (let n = from; n < from + count; n++) {
    const payload: OwnedPayload = { user: n % 2 === 0 ? 'u1' : 'u2', n, ...(pad && { pad }) };
    published.push({ id: await hub.publish(channel, { data: payload }), payload });
  }
  return published;
}

/** The frame of the mutation test's events, as published. */
function frameOf(id: string): string {
  return `event: change\nid: ${id}\ndata: {"nested":{"v":"original"},"list":["one"]}\n\n`;
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  await within(
    (async () => {
      while (!condition()) await nextTurn();
    })(),
    5000,
    what,
  );
}

describe('per-user filtering that resumes', () => {
  it('replays 1000 × 2 KiB to a fast reader through a piped operator, within the default budget', async () => {
    const { app, hub } = await start({ retention: { maxEvents: 2000 } });
    const history = await publishOwned(hub, 'big', 0, 1000, 'x'.repeat(2048));
    // Piped through `filter`, which drops the hub's own self-attaching hooks: the replay must
    // still wait for the socket (2 MiB of history against a 1 MiB budget).
    const resumed = await open(app, '/patterns/piped?channel=big', history[0]!.id);
    const replayed = await resumed.take(999);
    expect(replayed.map((event) => event.id)).toEqual(history.slice(1).map(({ id }) => id));
    expect(resumed.endedByServer).toBe(false);
    const [live] = await publishOwned(hub, 'big', 1000, 1);
    expect((await resumed.take(1))[0]!.id).toBe(live!.id);
  });

  it.each([
    ['an operator piped on', '/patterns/piped'],
    ['the filter option', '/patterns/filtered'],
  ])('gives each user their events, and resumes them exactly, with %s', async (_label, route) => {
    const { app, hub } = await start();
    const path = `${route}?channel=shared&user=u1`;
    const first = await open(app, path);
    const before = await publishOwned(hub, 'shared', 0, 6);
    const seen = await first.take(3);
    expect(payloads(seen).map(({ n }) => n)).toEqual([0, 2, 4]);
    expect(seen.map((event) => event.id)).toEqual([before[0]!.id, before[2]!.id, before[4]!.id]);
    await first.close();

    await publishOwned(hub, 'shared', 6, 6);
    const resumed = await open(app, path, seen.at(-1)!.id);
    expect(payloads(await resumed.take(3)).map(({ n }) => n)).toEqual([6, 8, 10]);
    await publishOwned(hub, 'shared', 12, 2);
    expect(payloads(await resumed.take(1)).map(({ n }) => n)).toEqual([12]);
    expect(resumed.events.every((event) => event.event !== 'reset')).toBe(true);
  });

  it('replays a large history through the filter option with backpressure too', async () => {
    const { app, hub } = await start({ retention: { maxEvents: 2000 } });
    const history = await publishOwned(hub, 'big', 0, 1000, 'y'.repeat(2048));
    const resumed = await open(app, '/patterns/filtered?channel=big&user=u2', history[0]!.id);
    const replayed = await resumed.take(500);
    expect(replayed.map((event) => event.id)).toEqual(
      history.filter(({ payload }) => payload.user === 'u2').map(({ id }) => id),
    );
    expect(resumed.endedByServer).toBe(false);
  });
});

describe('positions', () => {
  describe.each([
    { name: 'memory', make: () => memoryBroker(), skip: false },
    {
      name: 'redis',
      make: () => redisBroker({ url: REDIS_URL, keyPrefix: `${RUN_PREFIX}pos:${Date.now()}:` }),
      skip: !available,
    },
  ])('on the $name broker', ({ make, skip }) => {
    it.skipIf(skip)(
      'gives a stream its position before any event, from which a reconnect loses nothing',
      async () => {
        const { app, hub } = await start({ broker: make() });
        const first = await open(app, hubPath(['quiet']));
        const position = await openingPosition(first);
        // Invisible to a client: nothing is dispatched.
        expect(first.events).toEqual([]);
        await first.close();

        const ids = [await hub.publish('quiet', 'a'), await hub.publish('quiet', 'b')];
        const again = await open(app, hubPath(['quiet']), position);
        expect(await again.take(2)).toEqual([
          { event: undefined, id: ids[0], data: 'a' },
          { event: undefined, id: ids[1], data: 'b' },
        ]);

        // And where the channel has history: the newest id; on several channels, a cursor.
        const third = await open(app, hubPath(['quiet']));
        expect(await openingPosition(third)).toBe(ids[1]);
        const several = await open(app, hubPath(['quiet', 'empty']));
        expect(await openingPosition(several)).toBe(`,${ids[1]}`);
      },
    );
  });

  it.skipIf(NO_BROWSER)(
    'lets a real browser that got no event resume what was published while it reconnected',
    async () => {
      expectChromium();
      const { app, hub, gate, counting } = await start({ module: { retryMs: 50 } });
      const base = await app.getUrl();
      let browser: Browser | undefined;
      try {
        browser = await launchChromium();
        const page = await browser.newPage();
        await page.goto(`${base}/patterns/page`);
        await page.evaluate(() => {
          const received: string[] = [];
          Object.assign(globalThis, { received });
          const source = new EventSource('/patterns/door?channel=fresh');
          source.addEventListener('message', (event) =>
            received.push(`${event.data}@${event.lastEventId}`),
          );
        });
        await within(gate.arrived(1), 10_000, 'the first connection');
        await counting.whenHeld(1);
        // The position is written within the turn the subscription is ready in (memory).
        await nextTurn();
        gate.close();
        gate.cuts.next();
        await counting.whenHeld(0);

        // Published while the browser is away: it has received no event at all.
        const ids = [
          await hub.publish('fresh', 'a'),
          await hub.publish('fresh', 'b'),
          await hub.publish('fresh', 'c'),
        ];
        await within(gate.arrived(2), 10_000, 'the reconnection');
        expect(gate.seen[1], 'the browser came back with the opening position').toBe('-');
        gate.open();
        // Serialized into the page: self-contained.
        await page.waitForFunction(
          () => (globalThis as unknown as { received: string[] }).received.length >= 3,
          undefined,
          { timeout: 10_000 },
        );
        const received = await page.evaluate(
          () => (globalThis as unknown as { received: string[] }).received,
        );
        expect(received).toEqual([`a@${ids[0]}`, `b@${ids[1]}`, `c@${ids[2]}`]);
      } finally {
        await browser?.close();
      }
    },
    60_000,
  );

  it('resumes a cursor whatever order the channels are listed in', async () => {
    const { app, hub } = await start();
    const first = await open(app, hubPath(['alpha', 'beta']));
    const a1 = await hub.publish('alpha', 'a1');
    const b1 = await hub.publish('beta', 'b1');
    const seen = await first.take(2);
    await first.close();
    const a2 = await hub.publish('alpha', 'a2');
    const b2 = await hub.publish('beta', 'b2');

    const reordered = await open(app, hubPath(['beta', 'alpha']), seen.at(-1)!.id);
    const replayed = await reordered.take(2);
    expect(replayed.map((event) => event.data)).toEqual(['a2', 'b2']);
    expect(replayed.map((event) => event.id)).toEqual([`${a2},${b1}`, `${a2},${b2}`]);
    expect(seen.map((event) => event.id)).toEqual([`${a1},`, `${a1},${b1}`]);
    // Nothing more: no duplicate of what was already seen.
    const [live] = [await hub.publish('beta', 'b3')];
    expect((await reordered.take(1))[0]).toMatchObject({ data: 'b3', id: `${a2},${live}` });
  });

  it('resets a cursor with a channel never seen, once that channel lost events to trimming', async () => {
    const { app, hub, counting } = await start({ retention: { maxEvents: 3 } });
    const first = await open(app, hubPath(['left', 'right']));
    await counting.whenHeld(2);
    await hub.publish('left', 'l1');
    const [seen] = await first.take(1);
    await first.close();
    // `right` had nothing when the client left; 10 events later, 7 of them are trimmed.
    for (let i = 0; i < 10; i++) await hub.publish('right', `r${i}`);

    const resumed = await open(app, hubPath(['left', 'right']), seen!.id);
    const [reset] = await resumed.take(1);
    expect(reset).toMatchObject({ event: 'reset' });
    expect(JSON.parse(reset!.data)).toEqual({ reason: 'history-gap' });
  });
});

describe('a broker that fell behind (onGap)', () => {
  it('resumes every affected stream from history when its position is still there', async () => {
    let gaps!: GapBroker;
    const { app, hub } = await start({ broker: (gaps = new GapBroker(memoryBroker())) });
    const single = await open(app, hubPath(['lag']));
    const multi = await open(app, hubPath(['lag', 'other']));
    await gaps.whenHeld(3);
    const before = await hub.publish('lag', 'before');
    expect((await single.take(1))[0]!.id).toBe(before);
    expect((await multi.take(1))[0]!.data).toBe('before');

    gaps.fallBehind('lag', 2);
    const lost = [await hub.publish('lag', 'lost1'), await hub.publish('lag', 'lost2')];
    const after = await hub.publish('lag', 'after');
    const got = await single.take(3);
    expect(got.map((event) => [event.data, event.id])).toEqual([
      ['lost1', lost[0]],
      ['lost2', lost[1]],
      ['after', after],
    ]);
    expect((await multi.take(3)).map((event) => event.data)).toEqual(['lost1', 'lost2', 'after']);
    expect([...single.events, ...multi.events].some((event) => event.event === 'reset')).toBe(
      false,
    );
  });

  it('resets with history-gap when what was lost is no longer retained', async () => {
    let gaps!: GapBroker;
    const { app, hub } = await start({
      broker: (gaps = new GapBroker(memoryBroker({ retention: { maxEvents: 2 } }))),
    });
    const stream = await open(app, hubPath(['lag']));
    await hub.publish('lag', 'seen');
    await stream.take(1);
    gaps.fallBehind('lag', 5);
    for (let i = 0; i < 5; i++) await hub.publish('lag', `lost${i}`);
    const [reset] = await stream.take(1);
    expect(reset).toMatchObject({ event: 'reset' });
    expect(JSON.parse(reset!.data)).toEqual({ reason: 'history-gap' });
    const live = await hub.publish('lag', 'live');
    expect(await stream.take(1)).toEqual([{ event: undefined, id: live, data: 'live' }]);
  });
});

describe('published events nobody can change', () => {
  it('sends what was published, live and replayed, whatever the publisher does to its object after', async () => {
    const { app, hub, counting } = await start();
    const first = await hub.publish('mut', 'start');
    // Published while no stream is open: nothing has serialized it but the hub.
    const quiet = { nested: { v: 'original' }, list: ['one'] };
    const quietId = await hub.publish('mut', { type: 'change', data: quiet });
    quiet.nested.v = 'mutated';
    quiet.list.push('two');

    const live = await open(app, hubPath(['mut']));
    const tamper = await open(app, '/patterns/tamper?channel=mut');
    await counting.whenHeld(2);
    const sent = { nested: { v: 'original' }, list: ['one'] };
    const sentId = await hub.publish('mut', { type: 'change', data: sent });
    sent.nested.v = 'mutated';
    sent.list.push('two');

    const replay = await open(app, hubPath(['mut']), first);
    const replayedTamper = await open(app, '/patterns/tamper?channel=mut', first);
    for (const stream of [replay, replayedTamper]) {
      await stream.waitForEvents(2);
      expect(stream.raw).toContain(frameOf(quietId));
      expect(stream.raw).toContain(frameOf(sentId));
    }
    for (const stream of [live, tamper]) {
      await stream.waitForEvents(1);
      expect(stream.raw).toContain(frameOf(sentId));
    }
    for (const stream of [live, tamper, replay, replayedTamper]) {
      expect(stream.raw).not.toMatch(/mutated|tampered/);
    }
  });
});

describe('the memory broker forgets what holds nothing', () => {
  it('keeps no state for channels that were subscribed to and never published to', async () => {
    const { app, hub, counting } = await start();
    const channels = async () => (await hub.health()).details.channels;
    for (let i = 0; i < 50; i++) {
      await open(app, hubPath([`url:${i}`]));
      await counting.whenHeld(i + 1);
    }
    await hub.publish('url:7', 'history');
    expect(await channels()).toBe(50);
    for (const stream of streams.splice(0)) await stream.close();
    await counting.whenHeld(0);
    // The channel with history is kept for replay; the 49 others are forgotten.
    expect(await channels()).toBe(1);
  });
});

describe('SseHub.subscribers()', () => {
  it("counts this instance's streams of a channel", async () => {
    const { app, hub, counting } = await start();
    await open(app, hubPath(['x']));
    const b = await open(app, hubPath(['x', 'y']));
    await counting.whenHeld(3);
    expect([hub.subscribers('x'), hub.subscribers('y'), hub.subscribers('z')]).toEqual([2, 1, 0]);
    await b.close();
    await waitUntil(() => hub.subscribers('y') === 0, 'y to be left');
    expect(hub.subscribers('x')).toBe(1);
  });
});

describe('idempotent publish', () => {
  it('stores and sends a retried publish once, and resolves with the first id', async () => {
    const { app, hub, counting } = await start();
    const stream = await open(app, hubPath(['orders']));
    await counting.whenHeld(1);
    const first = await hub.publish('orders', { data: 'o1' }, { idempotencyKey: 'order-1' });
    const retry = await hub.publish('orders', { data: 'o1' }, { idempotencyKey: 'order-1' });
    expect(retry).toBe(first);
    const other = await hub.publishData('orders', 'o2', { idempotencyKey: 'order-2' });
    expect(await stream.take(2)).toEqual([
      { event: undefined, id: first, data: 'o1' },
      { event: undefined, id: other, data: 'o2' },
    ]);
    const replay = await open(app, hubPath(['orders']), '-');
    expect((await replay.take(2)).map((event) => event.id)).toEqual([first, other]);
    await expect(
      hub.publish('orders', { data: 'x' }, { idempotencyKey: '' }),
    ).rejects.toMatchObject({ code: 'SSE_INVALID_HUB_EVENT' });
  });
});

import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type HubEvent,
  InvalidChannelError,
  InvalidHubEventError,
  memoryBroker,
  ProducerIdError,
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
import { CountingBroker } from '../src/hub/counting.broker.js';
import { HubAppModule } from '../src/hub/hub-app.module.js';
import { JobRunner, type JobStep } from '../src/hub/job-runner.js';
import {
  adminClient,
  deleteKeys,
  REDIS_PORT,
  REDIS_URL,
  redisAvailable,
  reportRedisAvailability,
  uniqueKeyPrefix,
} from '../support/redis.js';

// One behavioural suite, run on both brokers: what a client sees of the hub must not depend on
// where the channel logs live. Where the brokers differ by design (Redis trims in whole stream
// nodes, survives a restart), the broker's row says so.

const available = await redisAvailable();
reportRedisAvailability(available, 'hub.e2e-spec');

/** Every key this file writes to Redis starts with it; deleted in afterAll. */
const RUN_PREFIX = uniqueKeyPrefix('hub');

/** What a test needs to build the broker of each application it starts. */
interface BrokerSetup {
  keyPrefix: string;
  retention?: RetentionOptions;
  /** Names the broker's Redis connections, for CLIENT LIST. */
  connectionName?: string;
}

interface BrokerKind {
  name: 'memory' | 'redis';
  needsRedis: boolean;
  make(setup: BrokerSetup): SseBroker;
  /** Orders two ids by their documented shape, independently of the broker's own compareIds. */
  order(a: string, b: string): number;
  /** An id the broker never gave on this channel and never will: from the future. */
  futureOf(id: string): string;
  /** Whether a new application on the same store resumes an id of the previous one. */
  survivesRestart: boolean;
}

const MEMORY_ID = /^([0-9a-f]+)-(\d+)$/;
const REDIS_ID = /^(\d+)-(\d+)$/;

function parts(pattern: RegExp, id: string): [string, number] {
  const match = pattern.exec(id);
  if (match === null) throw new Error(`"${id}" does not have the shape ${String(pattern)}`);
  return [match[1]!, Number(match[2])];
}

const BROKERS: BrokerKind[] = [
  {
    name: 'memory',
    needsRedis: false,
    make: ({ retention }) => memoryBroker({ retention }),
    order(a, b) {
      const [epochA, seqA] = parts(MEMORY_ID, a);
      const [epochB, seqB] = parts(MEMORY_ID, b);
      expect(epochA, 'ids of one process share its epoch').toBe(epochB);
      return seqA - seqB;
    },
    futureOf: (id) => id.replace(/\d+$/, '999999999'),
    survivesRestart: false,
  },
  {
    name: 'redis',
    needsRedis: true,
    make: ({ keyPrefix, retention, connectionName }) =>
      redisBroker({
        url:
          connectionName === undefined
            ? REDIS_URL
            : `${REDIS_URL}/0?connectionName=${connectionName}`,
        keyPrefix,
        retention,
      }),
    order(a, b) {
      const [msA, seqA] = parts(REDIS_ID, a);
      const [msB, seqB] = parts(REDIS_ID, b);
      return Number(msA) - Number(msB) || seqA - seqB;
    },
    futureOf: (id) => `${Number(parts(REDIS_ID, id)[0]) + 86_400_000}-0`,
    survivesRestart: true,
  },
];

/** One published event, as the test knows it: where, which, and the id publish resolved to. */
interface Published {
  channel: string;
  n: number;
  id: string;
}

/** The payload of test events: who they are, and an optional padding to make them heavy. */
interface Payload {
  channel: string;
  n: number;
  pad?: string;
}

function payloadOf(event: ParsedEvent): Payload {
  return JSON.parse(event.data) as Payload;
}

afterAll(async () => {
  if (available) await deleteKeys(RUN_PREFIX);
});

/** Publishes numbered events, one after the other, round-robin over `channels`. */
async function publishAll(
  hub: SseHub,
  channels: string[],
  from: number,
  count: number,
  pad?: string,
): Promise<Published[]> {
  const published: Published[] = [];
  for (let n = from; n < from + count; n++) {
    const channel = channels[n % channels.length]!;
    const payload: Payload = pad === undefined ? { channel, n } : { channel, n, pad };
    published.push({ channel, n, id: await hub.publishData(channel, payload) });
  }
  return published;
}

/**
 * The events a resumed stream received are exactly the published ones after its cursor: the
 * same events of each channel in the same order, nothing more, and each with the id that
 * marks where the client stands (the broker's id on one channel, a cursor on several).
 */
function expectExactly(
  received: ParsedEvent[],
  cursor: string,
  channels: string[],
  expected: Published[],
): void {
  const got = received.map((event) => {
    const { channel, n } = payloadOf(event);
    return { channel, n, id: event.id };
  });
  for (const channel of channels) {
    expect(
      got.filter((event) => event.channel === channel).map((event) => event.n),
      `the events of ${channel}, in order`,
    ).toEqual(expected.filter((event) => event.channel === channel).map((event) => event.n));
  }
  expect(got).toHaveLength(expected.length);
  const idOf = new Map(expected.map((event) => [`${event.channel}#${event.n}`, event.id]));
  const positions = channels.length === 1 ? [cursor] : cursor.split(',');
  const ids = got.map(({ channel, n }) => {
    positions[channels.indexOf(channel)] = idOf.get(`${channel}#${n}`)!;
    return positions.join(',');
  });
  expect(
    got.map((event) => event.id),
    'each id is where the client stands',
  ).toEqual(ids);
}

/** Timers alive in this process. */
function timers(): number {
  return process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
}

describe.each(BROKERS)('SseHub on the $name broker', (kind) => {
  const skip = kind.needsRedis && !available;
  let testNumber = 0;
  /** This test's own keys (Redis) and connection names. */
  let keyPrefix: string;
  let apps: INestApplication[] = [];
  const streams: TestEventStream[] = [];

  beforeEach(() => {
    keyPrefix = `${RUN_PREFIX}${kind.name}:${++testNumber}:`;
  });

  afterEach(async () => {
    for (const stream of streams.splice(0)) await stream.close();
    for (const app of apps.splice(0)) await app.close();
  });

  interface StartOptions {
    retention?: RetentionOptions;
    module?: Omit<SseModuleOptions, 'broker'>;
    connectionName?: string;
    /** Wraps the broker (to count its subscriptions). */
    wrap?: (broker: SseBroker) => SseBroker;
  }

  async function start(
    options: StartOptions = {},
  ): Promise<{ app: INestApplication; hub: SseHub }> {
    const made = kind.make({
      keyPrefix,
      retention: options.retention,
      connectionName: options.connectionName,
    });
    const broker = options.wrap?.(made) ?? made;
    const moduleRef = await Test.createTestingModule({
      imports: [HubAppModule.register({ heartbeatMs: 0, ...options.module, broker })],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    apps.push(app);
    await app.listen(0, '127.0.0.1');
    return { app, hub: app.get(SseHub) };
  }

  async function stop(app: INestApplication): Promise<void> {
    apps = apps.filter((running) => running !== app);
    await app.close();
  }

  /** A stream of `channels`, resumed from a Last-Event-ID header and/or query when given. */
  async function open(
    app: INestApplication,
    channels: string[],
    resume: { header?: string; query?: string } = {},
  ): Promise<TestEventStream> {
    let path = `/hub?channels=${encodeURIComponent(channels.join(','))}`;
    if (resume.query !== undefined) path += `&lastEventId=${encodeURIComponent(resume.query)}`;
    const headers = resume.header === undefined ? undefined : { 'last-event-id': resume.header };
    const stream = await openEventStream(app, { path, headers });
    streams.push(stream);
    expect(stream.status).toBe(200);
    return stream;
  }

  describe.skipIf(skip)('publishing', () => {
    it('delivers a published event to a subscriber, with the id publish resolved to', async () => {
      const { app, hub } = await start();
      const stream = await open(app, ['news']);
      const id = await hub.publish('news', { type: 'headline', data: { title: 'Hello' } });
      expect(await stream.take(1)).toEqual([{ event: 'headline', id, data: '{"title":"Hello"}' }]);
    });

    // Per channel only: Redis Stream ids of two channels may be equal (`<ms>-0` in each).
    it('gives ids that increase per channel', async () => {
      const { app, hub } = await start();
      const streamA = await open(app, ['a']);
      const published = await publishAll(hub, ['a', 'b'], 0, 20);
      for (const channel of ['a', 'b']) {
        const ids = published.filter((event) => event.channel === channel).map(({ id }) => id);
        for (let i = 1; i < ids.length; i++) {
          expect(kind.order(ids[i - 1]!, ids[i]!), `${ids[i - 1]} < ${ids[i]}`).toBeLessThan(0);
        }
      }
      const received = await streamA.take(10);
      expect(received.map((event) => event.id)).toEqual(
        published.filter((event) => event.channel === 'a').map(({ id }) => id),
      );
    });

    it('follows several channels in one stream, with a cursor of its position in each', async () => {
      const { app, hub } = await start();
      const stream = await open(app, ['left', 'right']);
      const left1 = await hub.publish('left', 'L1');
      const right1 = await hub.publish('right', 'R1');
      const left2 = await hub.publish('left', 'L2');
      await hub.publish('elsewhere', 'not followed');
      const right2 = await hub.publish('right', 'R2');
      expect(await stream.take(4)).toEqual([
        { event: undefined, id: `${left1},`, data: 'L1' },
        { event: undefined, id: `${left1},${right1}`, data: 'R1' },
        { event: undefined, id: `${left2},${right1}`, data: 'L2' },
        { event: undefined, id: `${left2},${right2}`, data: 'R2' },
      ]);
    });

    it('sends an event object with its name, a string or publishData value as data, live and replayed', async () => {
      const { app, hub } = await start();
      const live = await open(app, ['shapes']);
      const before = await hub.publish('shapes', 'first');
      const ids = [
        await hub.publish('shapes', { type: 'x', data: { n: 1 } }),
        await hub.publishData('shapes', { n: 2 }),
        await hub.publish('shapes', 'plain text'),
        await hub.publish('shapes', { data: 'only data' }),
        await hub.publishData('shapes', { data: 3, extra: true }),
        await hub.publishData('shapes', [1, 2], { type: 'list' }),
      ];
      const expected = [
        { event: 'x', id: ids[0], data: '{"n":1}' },
        { event: undefined, id: ids[1], data: '{"n":2}' },
        { event: undefined, id: ids[2], data: 'plain text' },
        { event: undefined, id: ids[3], data: 'only data' },
        { event: undefined, id: ids[4], data: '{"data":3,"extra":true}' },
        { event: 'list', id: ids[5], data: '[1,2]' },
      ];
      expect((await live.take(7)).slice(1)).toEqual(expected);
      const replayed = await open(app, ['shapes'], { header: before });
      expect(await replayed.take(6)).toEqual(expected);
    });

    it('refuses what is not an event object, naming the problem, and stores nothing of it', async () => {
      const { app, hub } = await start();
      const live = await open(app, ['strict']);
      const misuses: unknown[] = [
        { type: 'news', title: 'x' },
        { data: 3, extra: true },
        { type: 'news' },
        { data: undefined },
        [1, 2],
        42,
        null,
        new Date(0),
      ];
      for (const misuse of misuses) {
        await expect(
          hub.publish('strict', misuse as HubEvent),
          JSON.stringify(misuse),
        ).rejects.toBeInstanceOf(InvalidHubEventError);
      }
      await expect(
        hub.publish('strict', { type: 'news', title: 'x' } as unknown as HubEvent),
      ).rejects.toThrow(/unknown key\(s\) "title".*publishData/);
      await expect(hub.publishData('strict', undefined)).rejects.toMatchObject({
        code: 'SSE_INVALID_HUB_EVENT',
      });
      const id = await hub.publish('strict', 'after');
      expect(await live.take(1)).toEqual([{ event: undefined, id, data: 'after' }]);
      // From the channel's start: what was refused was never stored.
      const replayed = await open(app, ['strict'], { header: '-' });
      expect(await replayed.take(1)).toEqual([{ event: undefined, id, data: 'after' }]);
    });

    it('refuses an event with an id of its own, and stores nothing of it', async () => {
      const { app, hub } = await start();
      const live = await open(app, ['orders']);
      const first = await hub.publish('orders', 'o1');
      await expect(
        hub.publish('orders', { id: 'o-2', data: 'o2' } as HubEvent),
      ).rejects.toBeInstanceOf(ProducerIdError);
      await expect(hub.publish('orders', { id: 0, data: 'o2' } as HubEvent)).rejects.toMatchObject({
        code: 'SSE_PRODUCER_ID',
      });
      const third = await hub.publish('orders', 'o3');
      expect(await live.take(2)).toEqual([
        { event: undefined, id: first, data: 'o1' },
        { event: undefined, id: third, data: 'o3' },
      ]);
      const resumed = await open(app, ['orders'], { header: first });
      expect(await resumed.take(1)).toEqual([{ event: undefined, id: third, data: 'o3' }]);
    });

    it('refuses invalid channels', async () => {
      const { hub } = await start();
      for (const channel of ['', 'a\nb', 'nul\u0000', 'x'.repeat(257)]) {
        await expect(hub.publish(channel, 'x'), JSON.stringify(channel)).rejects.toBeInstanceOf(
          InvalidChannelError,
        );
        expect(() => hub.stream(channel), JSON.stringify(channel)).toThrow(InvalidChannelError);
      }
      await expect(hub.publish(42 as unknown as string, 'x')).rejects.toBeInstanceOf(
        InvalidChannelError,
      );
      expect(() => hub.stream([])).toThrow(InvalidChannelError);
      expect(() => hub.stream(['ok', ''])).toThrow(InvalidChannelError);
    });
  });

  describe.skipIf(skip)('resuming from Last-Event-ID', () => {
    it('replays exactly the events a client missed on a channel, then goes on live', async () => {
      const { app, hub } = await start();
      const first = await open(app, ['feed']);
      const seen = await publishAll(hub, ['feed'], 0, 10);
      const received = await first.take(10);
      expectExactly(received, '', ['feed'], seen);
      await first.close();

      const missed = await publishAll(hub, ['feed'], 10, 6);
      const cursor = received.at(-1)!.id!;
      const resumed = await open(app, ['feed'], { header: cursor });
      const replayed = await resumed.take(6);
      const live = await publishAll(hub, ['feed'], 16, 2);
      expectExactly(
        [...replayed, ...(await resumed.take(2))],
        cursor,
        ['feed'],
        [...missed, ...live],
      );
    });

    it('replays exactly the events a multi-channel stream missed, from its cursor', async () => {
      const channels = ['left', 'right'];
      const { app, hub } = await start();
      const first = await open(app, channels);
      const seen = await publishAll(hub, channels, 0, 5);
      const received = await first.take(5);
      expectExactly(received, ',', channels, seen);
      await first.close();

      // Uneven, so that the cursor's positions are not in step.
      const missed = [
        ...(await publishAll(hub, ['right'], 5, 3)),
        ...(await publishAll(hub, channels, 8, 4)),
      ];
      const cursor = received.at(-1)!.id!;
      const resumed = await open(app, channels, { header: cursor });
      const replayed = await resumed.take(missed.length);
      const live = await publishAll(hub, channels, 12, 3);
      expectExactly([...replayed, ...(await resumed.take(3))], cursor, channels, [
        ...missed,
        ...live,
      ]);
    });

    it('replays a history longer than replayPageSize', async () => {
      const { app, hub } = await start({ module: { replayPageSize: 10 } });
      const history = await publishAll(hub, ['long'], 0, 100);
      const cursor = history[4]!.id;
      const resumed = await open(app, ['long'], { header: cursor });
      const replayed = await resumed.take(95);
      const live = await publishAll(hub, ['long'], 100, 1);
      expectExactly(
        [...replayed, ...(await resumed.take(1))],
        cursor,
        ['long'],
        [...history.slice(5), ...live],
      );
    });

    it('replays events larger than the socket buffer', async () => {
      // One event is past the response's high-water mark (16 KiB): the replay must wait for
      // the socket to drain, and go on once it did.
      const pad = 'x'.repeat(17 * 1024);
      const { app, hub } = await start();
      const before = await hub.publish('heavy', 'before');
      const history = await publishAll(hub, ['heavy'], 0, 3, pad);
      const resumed = await open(app, ['heavy'], { header: before });
      const replayed = await resumed.take(3);
      const live = await publishAll(hub, ['heavy'], 3, 1);
      expectExactly(
        [...replayed, ...(await resumed.take(1))],
        before,
        ['heavy'],
        [...history, ...live],
      );
    });

    it.each([
      ['one channel', ['burst']],
      ['two channels', ['burst-a', 'burst-b']],
    ])(
      'stays exact when events are published while the replay runs (%s)',
      async (_label, channels) => {
        // Small pages, and every page read held until a live event reached the hub: the burst
        // lands in history, in the stream's wait buffer and live, whatever the timing.
        let counting!: CountingBroker;
        const { app, hub } = await start({
          module: { replayPageSize: 10 },
          wrap: (broker) => (counting = new CountingBroker(broker)),
        });
        const first = await open(app, channels);
        await publishAll(hub, channels, 0, 10);
        const cursor = (await first.take(10)).at(-1)!.id!;
        await first.close();
        const missed = await publishAll(hub, channels, 10, 50);

        const readsBefore = counting.reads.length;
        counting.holdReads();
        let resumed: TestEventStream | undefined;
        const burst = (async () => {
          const published: Published[] = [];
          // Until the client received the whole missed history, so the burst spans the replay.
          for (
            let n = 60;
            n < 460 && (published.length < 20 || (resumed?.events.length ?? 0) < missed.length);
            n++
          ) {
            published.push(...(await publishAll(hub, channels, n, 1)));
            // A turn of the event loop between publishes: the reconnect and the replay go on.
            await nextTurn();
          }
          counting.releaseReads();
          return published;
        })();
        resumed = await open(app, channels, { header: cursor });
        const during = await burst;
        const next = 60 + during.length;
        const replayedAndBurst = await resumed.take(missed.length + during.length);
        const live = await publishAll(hub, channels, next, 2);
        // The premise: live events reached the hub between the first and the last page read.
        const reads = counting.reads.slice(readsBefore);
        expect(reads.length, 'history pages read').toBeGreaterThan(missed.length / 10);
        expect(
          reads.at(-1)!.deliveredBefore - reads[0]!.deliveredBefore,
          'live events delivered while the replay was reading',
        ).toBeGreaterThan(0);
        expectExactly([...replayedAndBurst, ...(await resumed.take(2))], cursor, channels, [
          ...missed,
          ...during,
          ...live,
        ]);
      },
    );

    it('sends a reset after the replay when more live events came than replayBufferLimit', async () => {
      let counting!: CountingBroker;
      const { app, hub } = await start({
        module: { replayPageSize: 10, replayBufferLimit: 2 },
        wrap: (broker) => (counting = new CountingBroker(broker)),
      });
      const cursor = await hub.publish('flood', 'before');
      const missed = await publishAll(hub, ['flood'], 0, 50);
      // Six page reads, each held until a live event came: more than the two the stream holds.
      counting.holdReads();
      let resumed: TestEventStream | undefined;
      const flooded: Published[] = [];
      const flood = (async () => {
        let n = 50;
        while (n < 450 && !resumed?.events.some((event) => event.event === 'reset')) {
          flooded.push(...(await publishAll(hub, ['flood'], n++, 1)));
          await nextTurn();
        }
        counting.releaseReads();
      })();
      resumed = await open(app, ['flood'], { header: cursor });
      await resumed.waitFor(
        (stream) => stream.events.some((event) => event.event === 'reset'),
        'a reset',
      );
      await flood;
      const resetAt = resumed.events.findIndex((event) => event.event === 'reset');
      // The history as it was read (the flood's first events among it) exactly, then the reset:
      // the live events the stream dropped are not a silent gap.
      expectExactly(
        resumed.events.slice(0, resetAt),
        cursor,
        ['flood'],
        [...missed, ...flooded.slice(0, resetAt - missed.length)],
      );
      const reset = resumed.events[resetAt]!;
      expect(JSON.parse(reset.data)).toEqual({ reason: expect.any(String) });
      // Then live from the reset's id on: what the flood published after it, and what follows.
      const published = [...missed, ...flooded];
      const resetFrom = published.findIndex(({ id }) => id === reset.id);
      expect(resetFrom, 'the reset carries the id of the newest event').toBeGreaterThanOrEqual(
        resetAt - 1,
      );
      const live = await publishAll(hub, ['flood'], 1000, 1);
      const after = [...published.slice(resetFrom + 1), ...live];
      await resumed.waitForEvents(resetAt + 1 + after.length);
      expectExactly(resumed.events.slice(resetAt + 1), reset.id!, ['flood'], after);
    });

    it('reads lastEventId from the query when there is no header', async () => {
      const { app, hub } = await start();
      const history = await publishAll(hub, ['q'], 0, 5);
      const resumed = await open(app, ['q'], { query: history[1]!.id });
      expectExactly(await resumed.take(3), history[1]!.id, ['q'], history.slice(2));
    });

    it('prefers the Last-Event-ID header to the query', async () => {
      const { app, hub } = await start();
      const history = await publishAll(hub, ['q'], 0, 5);
      const newer = await open(app, ['q'], { header: history[3]!.id, query: history[0]!.id });
      expectExactly(await newer.take(1), history[3]!.id, ['q'], history.slice(4));

      // Even a header that cannot be resumed wins over a query that could.
      const reset = await open(app, ['q'], { header: 'garbage', query: history[0]!.id });
      const [first] = await reset.take(1);
      expect(first!.event).toBe('reset');
    });

    it('decodes a UTF-8 Last-Event-ID header, and answers a non-id one with a reset', async () => {
      const { app } = await start();
      const text = 'café-€-😀';
      // Node writes header strings as latin1: these characters go out as the UTF-8 bytes of `text`.
      const utf8AsLatin1 = Buffer.from(text, 'utf8').toString('latin1');
      const echo = await openEventStream(app, {
        path: '/hub/last-event-id',
        headers: { 'last-event-id': utf8AsLatin1 },
      });
      streams.push(echo);
      expect(await echo.take(1)).toEqual([
        { event: 'last-event-id', id: undefined, data: JSON.stringify({ lastEventId: text }) },
      ]);
      const query = await openEventStream(app, {
        path: `/hub/last-event-id?lastEventId=${encodeURIComponent(text)}`,
      });
      streams.push(query);
      expect(JSON.parse((await query.take(1))[0]!.data)).toEqual({ lastEventId: text });

      const hubStream = await open(app, ['utf8'], { header: utf8AsLatin1 });
      const [first] = await hubStream.take(1);
      expect(first!.event).toBe('reset');
    });

    it(`${kind.survivesRestart ? 'resumes' : 'resets'} an id given before a restart`, async () => {
      const before = await start();
      const history = await publishAll(before.hub, ['restart'], 0, 5);
      await stop(before.app);

      const after = await start();
      const later = await publishAll(after.hub, ['restart'], 5, 2);
      expect(later.map(({ id }) => id)).not.toContain(history[4]!.id);
      const resumed = await open(after.app, ['restart'], { header: history[2]!.id });
      if (kind.survivesRestart) {
        expectExactly(
          await resumed.take(4),
          history[2]!.id,
          ['restart'],
          [...history.slice(3), ...later],
        );
      } else {
        const [reset] = await resumed.take(1);
        expect(reset!.event).toBe('reset');
        const live = await publishAll(after.hub, ['restart'], 7, 1);
        expectExactly(await resumed.take(1), later[1]!.id, ['restart'], live);
      }
    });
  });

  describe.skipIf(skip)('resets', () => {
    let nodeEntries = 100;

    beforeAll(async () => {
      if (kind.name !== 'redis' || skip) return;
      const admin = adminClient();
      await admin.connect();
      const reply = (await admin.config('GET', 'stream-node-max-entries')) as string[];
      nodeEntries = Number(reply[1]);
      admin.disconnect();
    });

    it('sends a reset first, then live events, for an id older than what is retained', async () => {
      const { app, hub } = await start({ retention: { maxEvents: 5 } });
      // Redis trims approximately, in whole stream nodes: outgrow one so the cursor is trimmed.
      const count = kind.name === 'redis' ? nodeEntries + 20 : 20;
      const history = await publishAll(hub, ['short'], 0, count);
      if (kind.name === 'redis') {
        // The premise, checked in Redis itself: the events after the cursor were trimmed.
        const admin = adminClient();
        await admin.connect();
        const [[oldest]] = (await admin.xrange(`${keyPrefix}short`, '-', '+', 'COUNT', 1)) as [
          [string, string[]],
        ];
        admin.disconnect();
        expect(kind.order(oldest, history[2]!.id), 'history[2] was trimmed').toBeGreaterThan(0);
      }
      const stream = await open(app, ['short'], { header: history[1]!.id });
      const [reset] = await stream.take(1);
      expect(reset).toMatchObject({ event: 'reset' });
      expect(JSON.parse(reset!.data)).toEqual({ reason: expect.any(String) });
      const live = await publishAll(hub, ['short'], count, 2);
      expectExactly(await stream.take(2), history.at(-1)!.id, ['short'], live);

      // The reset's id is where the client now stands: resuming from it loses nothing.
      const again = await open(app, ['short'], { header: reset!.id! });
      expectExactly(await again.take(2), reset!.id!, ['short'], live);
    });

    const unknownIds: Array<[string, string[], (history: Published[], other: string) => string]> = [
      ['a malformed id', ['news'], () => 'garbage'],
      ['an id of another broker instance', ['news'], (_history, other) => other],
      // Valid Redis syntax, an entry this stream never had (a memory epoch can be all digits).
      ['an id that looks like a Redis id but was never here', ['news'], () => '12345678-1'],
      ['an id from the future', ['news'], (history) => kind.futureOf(history.at(-1)!.id)],
      ['a cursor of the wrong length', ['news', 'sport'], (history) => history.at(-1)!.id],
      ['a single-channel id split in two', ['news'], (history) => `${history[0]!.id},`],
    ];

    it.each(unknownIds)(
      'sends a reset, then live events, for %s',
      async (_label, channels, idOf) => {
        const { app, hub } = await start();
        const history = await publishAll(hub, channels, 0, 4);
        // Another process's memory broker: another epoch.
        const other = memoryBroker();
        const otherId = (await other.publish(channels[0]!, { data: 'elsewhere' })).id;
        await other.close();

        const stream = await open(app, channels, { header: idOf(history, otherId) });
        const [reset] = await stream.take(1);
        expect(reset).toMatchObject({ event: 'reset' });
        expect(JSON.parse(reset!.data)).toEqual({ reason: expect.any(String) });
        const live = await publishAll(hub, channels, 4, channels.length);
        expectExactly(await stream.take(live.length), reset!.id!, channels, live);
      },
    );
  });

  describe.skipIf(skip)('resources', () => {
    it('releases the broker subscription when the client disconnects', async () => {
      let counting!: CountingBroker;
      const { app, hub } = await start({
        wrap: (broker) => (counting = new CountingBroker(broker)),
      });
      const first = await open(app, ['a']);
      const one = await hub.publish('a', 'one');
      await first.take(1);
      expect(counting.active).toEqual(new Map([['a', 1]]));
      await first.close();
      await counting.whenHeld(0);

      const second = await open(app, ['a', 'b']);
      const id = await hub.publish('b', 'two');
      // The cursor starts where the stream joined each channel: after 'one' in a.
      expect(await second.take(1)).toEqual([{ event: undefined, id: `${one},${id}`, data: 'two' }]);
      expect(counting.active).toEqual(
        new Map([
          ['a', 1],
          ['b', 1],
        ]),
      );
      await second.close();
      await counting.whenHeld(0);
    });

    it('leaves no open socket, server or timer once app.close() resolved', async () => {
      const timersAtStart = timers();
      // Every socket opened from now on: the broker's connections (to Redis) among them.
      const clientSockets: Socket[] = [];
      const onClientSocket = (message: unknown) =>
        clientSockets.push((message as { socket: Socket }).socket);
      subscribe('net.client.socket', onClientSocket);
      try {
        const { app, hub } = await start({ module: { heartbeatMs: 1000 } });
        const server = app.getHttpServer() as Server;
        const serverSockets: Socket[] = [];
        server.on('connection', (socket: Socket) => serverSockets.push(socket));
        const closed = await open(app, ['x']);
        const left = await open(app, ['x', 'y']);
        await hub.publish('x', 'one');
        await closed.take(1);
        await left.take(1);
        await closed.close();

        await stop(app);
        // The stream still open was ended by the server, not cut.
        await left.waitForEnd();
        // The application's sockets: those its server accepted, and its broker's to Redis (the
        // test's own clients are not its to close).
        const ownSockets = [
          ...serverSockets,
          ...clientSockets.filter((socket) => socket.remotePort === REDIS_PORT),
        ];
        expect(
          ownSockets
            .filter((socket) => !socket.destroyed)
            .map((socket) => `${socket.remoteAddress}:${socket.remotePort}`),
          'sockets of the application still open',
        ).toEqual([]);
        expect(server.listening).toBe(false);
        expect(timers()).toBeLessThanOrEqual(timersAtStart);
      } finally {
        unsubscribe('net.client.socket', onClientSocket);
      }
    });

    it('delivers live events promptly on channels joined while others are followed', async () => {
      const { app, hub } = await start();
      await open(app, ['busy']);
      // The channels are joined one after the other, each while the broker is already reading.
      for (let i = 0; i < 50; i++) {
        const stream = await open(app, [`late:${i}`]);
        const startedAt = Date.now();
        const id = await hub.publish(`late:${i}`, 'x');
        expect(await stream.take(1)).toEqual([{ event: undefined, id, data: 'x' }]);
        // Local delivery takes milliseconds; a second is a wide margin on a busy machine.
        expect(Date.now() - startedAt, `delivery on late:${i}`).toBeLessThan(1000);
        await stream.close();
      }
    });

    it.runIf(kind.name === 'redis')(
      'uses two Redis connections per application, whatever its channels and clients',
      async () => {
        const connectionName = `${keyPrefix.replaceAll(':', '-')}conn`;
        const admin = adminClient();
        await admin.connect();
        const connections = async () =>
          ((await admin.client('LIST')) as string)
            .split('\n')
            .filter((line) => line.includes(` name=${connectionName} `)).length;
        try {
          const { app, hub } = await start({ connectionName });
          expect(await connections()).toBe(2);
          const channels = Array.from({ length: 20 }, (_, i) => `many:${i}`);
          const opened: Array<{ stream: TestEventStream; channel: string }> = [];
          for (let i = 0; i < 50; i++) {
            const channel = channels[i % channels.length]!;
            opened.push({ stream: await open(app, [channel]), channel });
          }
          const ids = new Map<string, string>();
          for (const channel of channels) ids.set(channel, await hub.publish(channel, channel));
          for (const { stream, channel } of opened) {
            expect(await stream.take(1)).toEqual([
              { event: undefined, id: ids.get(channel), data: channel },
            ]);
          }
          expect(await connections()).toBe(2);

          await stop(app);
          await waitUntil(
            async () => (await connections()) === 0,
            'the broker connections to close',
          );
        } finally {
          admin.disconnect();
        }
      },
    );
  });

  describe.skipIf(skip)('resumable producer (the README recipe)', () => {
    it('lets a client that dropped resume a job with its Last-Event-ID, exactly once', async () => {
      const steps = 30;
      const { app, hub } = await start();
      const first = await openEventStream(app, { path: '/jobs/j1' });
      streams.push(first);
      await request(app.getHttpServer())
        .post('/jobs/j1')
        .query({ steps, intervalMs: 20 })
        .expect(202);
      const part = await first.take(10);
      await first.close();

      // The producer goes on without any client; the client comes back with where it was.
      const resumed = await openEventStream(app, {
        path: '/jobs/j1',
        headers: { 'last-event-id': part.at(-1)!.id! },
      });
      streams.push(resumed);
      const rest = await resumed.take(steps - 10);
      const ids = await app.get(JobRunner).finished('j1');

      const received = [...part, ...rest];
      expect(received.map((event) => event.id)).toEqual(ids);
      expect(received.map((event) => (JSON.parse(event.data) as JobStep).step)).toEqual(
        Array.from({ length: steps }, (_, i) => i + 1),
      );
      expect(received.at(-1)!.event).toBe('done');
      // Nothing after the last step but what comes next: no late duplicate.
      const marker = await hub.publish('job:j1', { type: 'marker', data: 'after' });
      expect(await resumed.take(1)).toEqual([{ event: 'marker', id: marker, data: 'after' }]);
    });
  });
});

/** Polls an outside state (Redis' client list) until it holds; fails after `timeoutMs`. */
async function waitUntil(
  condition: () => Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await nextTurn();
  }
}

import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type HubEvent,
  memoryBroker,
  redisBroker,
  type SseBroker,
  SseHub,
} from '../../src/index.js';
import { openEventStream, type TestEventStream } from '../../src/testing/index.js';
import { HubAppModule } from '../src/hub/hub-app.module.js';
import {
  deleteKeys,
  REDIS_URL,
  redisAvailable,
  reportRedisAvailability,
  uniqueKeyPrefix,
} from '../support/redis.js';

// The bytes of an event are decided once, when it is published: a client gets the same frame
// live and replayed after a reconnect, from the memory broker and from Redis.

const available = await redisAvailable();
reportRedisAvailability(available, 'redis-bytes.e2e-spec');

const RUN_PREFIX = uniqueKeyPrefix('redis-bytes');
const AT = new Date('2020-01-01T00:00:00.000Z');

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 16 }),
  fc.constantFrom('a\r\nb\rc\nd', '\ud800 lone', '"quoted"', 'data: x\n\nid: y', '', 'ünï 🦄 中'),
);
const date = fc.date({ noInvalidDate: true });
/** Strings, numbers, Dates, nested values, values whose JSON is a string, unicode. */
const data = fc.oneof(
  text,
  fc.jsonValue({ maxDepth: 3 }),
  date,
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.record({ at: date, list: fc.array(fc.oneof(date, text, fc.integer()), { maxLength: 3 }) }),
  text.map((json) => ({ toJSON: () => json })),
);
const hubEvent: fc.Arbitrary<HubEvent> = fc.record(
  {
    data,
    type: text.map((t) => t.replace(/[\r\n]/g, '')),
    comment: text,
    retry: fc.nat(),
  },
  { requiredKeys: ['data'] },
);

interface Side {
  name: 'memory' | 'redis';
  app: INestApplication;
  hub: SseHub;
}

const apps: INestApplication[] = [];
const streams: TestEventStream[] = [];

async function start(name: Side['name'], broker: SseBroker): Promise<Side> {
  const moduleRef = await Test.createTestingModule({
    imports: [HubAppModule.register({ heartbeatMs: 0, broker })],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  apps.push(app);
  await app.listen(0, '127.0.0.1');
  return { name, app, hub: app.get(SseHub) };
}

async function open(side: Side, channel: string, lastEventId: string): Promise<TestEventStream> {
  const stream = await openEventStream(side.app, {
    path: `/hub?channels=${encodeURIComponent(channel)}`,
    headers: { 'last-event-id': lastEventId },
  });
  streams.push(stream);
  expect(stream.status).toBe(200);
  return stream;
}

/**
 * The bytes a client received of `events` published on a new channel: live (a stream open
 * before they are published) and replayed (a stream opened after, from the same position).
 */
async function sent(
  side: Side,
  channel: string,
  events: HubEvent[],
): Promise<{ live: string; replayed: string }> {
  const before = await side.hub.publish(channel, { data: 'before' });
  const live = await open(side, channel, before);
  for (const event of events) await side.hub.publish(channel, event);
  await live.take(events.length);
  const replayed = await open(side, channel, before);
  await replayed.take(events.length);
  const bytes = { live: live.raw, replayed: replayed.raw };
  for (const stream of [live, replayed]) {
    streams.splice(streams.indexOf(stream), 1);
    await stream.close();
  }
  return bytes;
}

/** The bytes without the ids, which are each broker's own. */
function withoutIds(raw: string): string {
  return raw.replace(/^id: .*$/gm, 'id: …');
}

let memory: Side;
let redis: Side | undefined;
let runs = 0;

beforeAll(async () => {
  memory = await start('memory', memoryBroker());
  if (available) {
    redis = await start('redis', redisBroker({ url: REDIS_URL, keyPrefix: RUN_PREFIX }));
  }
});

afterAll(async () => {
  for (const stream of streams.splice(0)) await stream.close();
  for (const app of apps.splice(0)) await app.close();
  if (available) await deleteKeys(RUN_PREFIX);
});

describe('the bytes of a hub event', () => {
  it('are the same live and replayed, on the memory broker', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hubEvent, { minLength: 1, maxLength: 3 }), async (events) => {
        const { live, replayed } = await sent(memory, `m${++runs}`, events);
        expect(replayed).toBe(live);
      }),
      { numRuns: 30 },
    );
  });

  describe.skipIf(!available)('on Redis', () => {
    it('are the same live and replayed, and the same as on the memory broker', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(hubEvent, { minLength: 1, maxLength: 3 }), async (events) => {
          const channel = `r${++runs}`;
          const onRedis = await sent(redis!, channel, events);
          const onMemory = await sent(memory, channel, events);
          expect(onRedis.replayed).toBe(onRedis.live);
          expect(withoutIds(onRedis.live)).toBe(withoutIds(onMemory.live));
        }),
        { numRuns: 30 },
      );
    });

    it('keep the quotes of a Date, whose JSON is a string, live and replayed', async () => {
      const { live, replayed } = await sent(redis!, 'date', [{ type: 'tick', data: AT }]);
      for (const raw of [live, replayed]) {
        expect(raw).toMatch(/\nevent: tick\nid: \d+-\d+\ndata: "2020-01-01T00:00:00\.000Z"\n\n$/);
      }
    });

    it("of an event published to the broker itself are read from the caller's object once", async () => {
      const broker = redisBroker({ url: REDIS_URL, keyPrefix: `${RUN_PREFIX}direct:` });
      await broker.connect();
      try {
        let reads = 0;
        const value = { at: AT, n: 1 };
        // `data` is the class's getter, not an own property: JSON.stringify(event) omits it.
        class Reading {
          readonly type = 'reading';
          get data() {
            reads++;
            return value;
          }
        }
        const stored = await broker.publish('direct', new Reading());
        value.n = 2;
        const page = await broker.readAfter('direct', undefined, 10);
        expect(reads).toBe(1);
        expect(page.events).toEqual([stored]);
        expect(stored).toEqual({
          type: 'reading',
          data: { at: '2020-01-01T00:00:00.000Z', n: 1 },
          id: stored.id,
          channel: 'direct',
        });
      } finally {
        await broker.close();
      }
    });
  });
});

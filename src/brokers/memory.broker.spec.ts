import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryBroker } from './memory.broker.js';
import type { SseBroker } from './sse-broker.interface.js';

describe('memoryBroker retention', () => {
  let broker: SseBroker | undefined;

  afterEach(async () => {
    await broker?.close();
    broker = undefined;
    vi.useRealTimers();
  });

  async function publishAll(target: SseBroker, channel: string, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push((await target.publish(channel, { data: `e${i}` })).id);
    return ids;
  }

  it('keeps the newest maxEvents per channel, and cannot resume from a trimmed id', async () => {
    broker = memoryBroker({ retention: { maxEvents: 3 } });
    await broker.connect();
    const ids = await publishAll(broker, 'news', 6);
    const all = await broker.readAfter('news', ids[2], 100);
    expect(all.events.map((e) => e.data)).toEqual(['e3', 'e4', 'e5']);
    // From the start of a log that lost its first events: not a resume.
    expect(await broker.readAfter('news', undefined, 100)).toEqual({
      events: [],
      resumable: false,
    });
    // The last trimmed id is still a valid position: nothing after it was lost.
    expect(await broker.readAfter('news', ids[2], 100)).toMatchObject({ resumable: true });
    expect(await broker.readAfter('news', ids[1], 100)).toEqual({ events: [], resumable: false });
  });

  it('drops events older than maxAgeMs', async () => {
    vi.useFakeTimers();
    broker = memoryBroker({ retention: { maxAgeMs: 1000 } });
    await broker.connect();
    const [old] = await publishAll(broker, 'news', 1);
    vi.advanceTimersByTime(1500);
    await broker.publish('news', { data: 'fresh' });
    const page = await broker.readAfter('news', old, 100);
    expect(page.events.map((e) => e.data)).toEqual(['fresh']);
    expect(page.resumable).toBe(true);
    expect((await broker.readAfter('news', undefined, 100)).resumable).toBe(false);
  });

  it('keeps at most maxBytes of frames per channel', async () => {
    broker = memoryBroker({ retention: { maxBytes: 100 } });
    await broker.connect();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push((await broker.publish('big', { data: 'x'.repeat(30) + i })).id);
    }
    const page = await broker.readAfter('big', ids[8], 100);
    // Each frame is "id: <epoch>-<n>\ndata: xxx…\n\n", about 55 bytes: one fits, two do not.
    expect(page.events.map((e) => String(e.data).at(-1))).toEqual(['9']);
    expect((await broker.readAfter('big', ids[7], 100)).resumable).toBe(false);
  });

  it('forgets a channel idle for idleChannelMs without subscribers, and resets its old ids', async () => {
    vi.useFakeTimers();
    broker = memoryBroker({ retention: { idleChannelMs: 1000, maxAgeMs: 60_000 } });
    await broker.connect();
    const [first] = await publishAll(broker, 'quiet', 2);
    const followed = broker.subscribe('busy', () => undefined);
    await publishAll(broker, 'busy', 1);
    vi.advanceTimersByTime(5000);
    expect(await broker.latestId('quiet')).toBeUndefined();
    expect((await broker.readAfter('quiet', first, 100)).resumable).toBe(false);
    // A channel with a subscriber is kept, however quiet.
    expect(await broker.latestId('busy')).toBeDefined();
    followed.unsubscribe();
  });

  it('refuses ids of another broker (another epoch), malformed ones and future ones', async () => {
    broker = memoryBroker();
    await broker.connect();
    const other = memoryBroker();
    const foreign = (await other.publish('news', { data: 'x' })).id;
    await other.close();
    const [id] = await publishAll(broker, 'news', 1);
    const future = id!.replace(/-\d+$/, '-99');
    for (const bad of [foreign, 'garbage', `${id}x`, future]) {
      expect(await broker.readAfter('news', bad, 10), bad).toEqual({
        events: [],
        resumable: false,
      });
    }
  });

  it('reads history page by page, oldest first, and orders ids', async () => {
    broker = memoryBroker();
    await broker.connect();
    const ids = await publishAll(broker, 'news', 5);
    const first = await broker.readAfter('news', undefined, 2);
    const second = await broker.readAfter('news', first.events.at(-1)!.id, 2);
    expect([...first.events, ...second.events].map((e) => e.id)).toEqual(ids.slice(0, 4));
    expect(broker.compareIds(ids[0]!, ids[1]!)).toBeLessThan(0);
    expect(Object.isFrozen(first.events[0])).toBe(true);
  });

  it('remembers an idempotency key for idempotencyWindowMs, per channel', async () => {
    vi.useFakeTimers();
    broker = memoryBroker({ retention: { idempotencyWindowMs: 1000 } });
    await broker.connect();
    const first = await broker.publish('orders', { data: 'o1' }, { idempotencyKey: 'k' });
    const retry = await broker.publish('orders', { data: 'changed' }, { idempotencyKey: 'k' });
    expect(retry).toBe(first);
    const elsewhere = await broker.publish('other', { data: 'o1' }, { idempotencyKey: 'k' });
    expect(elsewhere.id).not.toBe(first.id);
    vi.advanceTimersByTime(1500);
    const later = await broker.publish('orders', { data: 'o1' }, { idempotencyKey: 'k' });
    expect(later.id).not.toBe(first.id);
    const page = await broker.readAfter('orders', undefined, 10);
    expect(page.events.map((e) => e.id)).toEqual([first.id, later.id]);
  });

  it('remembers at most maxEvents idempotency keys per channel, the newest', async () => {
    broker = memoryBroker({ retention: { maxEvents: 2 } });
    await broker.connect();
    const ids: string[] = [];
    for (const key of ['a', 'b', 'c']) {
      ids.push((await broker.publish('c', { data: key }, { idempotencyKey: key })).id);
    }
    expect((await broker.publish('c', { data: 'c' }, { idempotencyKey: 'c' })).id).toBe(ids[2]);
    expect((await broker.publish('c', { data: 'a' }, { idempotencyKey: 'a' })).id).not.toBe(ids[0]);
  });

  it('stores a deep-frozen copy of its own: the publisher object can change, the event cannot', async () => {
    broker = memoryBroker();
    await broker.connect();
    const data = { nested: { v: 1 } };
    const stored = await broker.publish('c', { type: 't', data });
    data.nested.v = 2;
    const [replayed] = (await broker.readAfter('c', undefined, 1)).events;
    expect(replayed).toBe(stored);
    expect(replayed!.data).toEqual({ nested: { v: 1 } });
    expect(Object.isFrozen((replayed!.data as typeof data).nested)).toBe(true);
  });

  it('forgets a channel that never held an event when its last subscriber leaves', async () => {
    broker = memoryBroker();
    await broker.connect();
    const channels = async () => (await broker!.health()).details.channels;
    const subscriptions = Array.from({ length: 20 }, (_, i) =>
      broker!.subscribe(`empty:${i % 10}`, () => undefined),
    );
    const kept = broker.subscribe('kept', () => undefined);
    await broker.publish('kept', { data: 'x' });
    expect(await channels()).toBe(11);
    for (const subscription of subscriptions) subscription.unsubscribe();
    kept.unsubscribe();
    expect(await channels()).toBe(1);
  });
});

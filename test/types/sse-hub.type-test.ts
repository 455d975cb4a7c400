// Type tests: `npm run lint` (tsc --noEmit) checks this file; nothing here runs. Each
// `@ts-expect-error` line is a misuse that must not compile: were it to compile, tsc fails on
// the unused directive.
import type { HubEvent, SseHub } from '../../src/index.js';

interface Invoice {
  number: string;
  total: number;
}

type AppChannels = {
  news: HubEvent<{ title: string }, 'headline'>;
  [user: `user:${string}`]: HubEvent<Invoice, 'invoice'> | HubEvent<string, 'notice'>;
};

export async function typedHub(hub: SseHub<AppChannels>, userId: string): Promise<void> {
  await hub.publish('news', { type: 'headline', data: { title: 'Hello' } });
  await hub.publish(`user:${userId}`, { type: 'invoice', data: { number: 'F1', total: 12 } });
  await hub.publish('user:42', { type: 'notice', data: 'paid' });
  await hub.publishData('news', { title: 'Hi' }, { type: 'headline', idempotencyKey: 'n-1' });
  hub.stream(['news', `user:${userId}`], { filter: (event) => event.type !== 'notice' });
  const count: number = hub.subscribers(`user:${userId}`);
  void count;

  // @ts-expect-error -- a misspelt event: `title` belongs in data
  await hub.publish('news', { type: 'headline', title: 'x' });
  // @ts-expect-error -- an event without data
  await hub.publish('news', { type: 'headline' });
  // @ts-expect-error -- the hub gives ids
  await hub.publish('news', { id: '1', data: { title: 'x' } });
  // @ts-expect-error -- an event name the channel does not carry
  await hub.publish('news', { type: 'breaking', data: { title: 'x' } });
  // @ts-expect-error -- data of another channel's shape
  await hub.publish(`user:${userId}`, { type: 'invoice', data: { title: 'x' } });
  // @ts-expect-error -- a channel that is not declared
  await hub.publish('sport', { data: 'x' });
  // @ts-expect-error -- a typed channel takes events, not bare strings
  await hub.publish('news', 'Hello');
  // @ts-expect-error -- publishData checks the data too
  await hub.publishData('news', 42);
  // @ts-expect-error -- streams only of declared channels
  hub.stream('sport');
  // @ts-expect-error -- counts only of declared channels
  hub.subscribers('sport');
}

export async function untypedHub(hub: SseHub): Promise<void> {
  await hub.publish('anything', 'a string is the data of a message');
  await hub.publish('anything', { type: 'x', data: { any: 'value' } });
  await hub.publishData('anything', [1, 2, 3]);
  hub.stream(['a', 'b'], { lastEventId: '1-0' });

  // @ts-expect-error -- not an event: use publishData
  await hub.publish('anything', { type: 'news', title: 'x' });
  // @ts-expect-error -- not an event: use publishData
  await hub.publish('anything', [1, 2]);
  // @ts-expect-error -- the hub gives ids
  await hub.publish('anything', { id: 'o-1', data: 'x' });
}

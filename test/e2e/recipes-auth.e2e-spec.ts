import type { INestApplication } from '@nestjs/common';
import { EventSource } from 'eventsource';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SseHub } from '../../src/index.js';
import { openEventStream, type TestEventStream } from '../../src/testing/index.js';
import { NotificationsController } from '../src/recipes/notifications.controller.js';
import { startRecipe } from '../src/recipes/recipes-app.js';
import { SessionGuard } from '../src/recipes/session.guard.js';

// The README recipe "Authentication: a cookie or a query token, one channel per user".

describe('recipe: auth with a cookie or a query token, feeding a per-user channel', () => {
  let app: INestApplication;
  let hub: SseHub;
  const streams: TestEventStream[] = [];
  const sources: EventSource[] = [];

  beforeEach(async () => {
    app = await startRecipe({ heartbeatMs: 0 }, [NotificationsController], [SessionGuard]);
    hub = app.get(SseHub);
  });

  afterEach(async () => {
    for (const source of sources.splice(0)) source.close();
    for (const stream of streams.splice(0)) await stream.close();
    await app.close();
  });

  async function open(headers: Record<string, string>, path = '/notifications') {
    const stream = await openEventStream(app, { path, headers });
    streams.push(stream);
    return stream;
  }

  it('streams the channel of the user its session cookie names, and no one else’s', async () => {
    const alice = await open({ cookie: 'theme=dark; session=token-alice' });
    expect(alice.status).toBe(200);
    await hub.publish('user:bob', { type: 'invoice', data: { for: 'bob' } });
    const id = await hub.publish('user:alice', { type: 'invoice', data: { for: 'alice' } });
    expect(await alice.take(1)).toEqual([{ event: 'invoice', id, data: '{"for":"alice"}' }]);
    await alice.close();

    // Back with its Last-Event-ID, it gets what it missed: its own events only.
    await hub.publish('user:bob', 'not for alice');
    const missed = await hub.publish('user:alice', 'missed');
    const resumed = await open({ cookie: 'session=token-alice', 'last-event-id': id });
    expect(await resumed.take(1)).toEqual([{ event: undefined, id: missed, data: 'missed' }]);
  });

  it('accepts a token in the query from an EventSource, which sends no headers of its own', async () => {
    const base = await app.getUrl();
    const received: string[] = [];
    const opened = new Promise<void>((resolve, reject) => {
      const source = new EventSource(`${base}/notifications?token=token-bob`);
      sources.push(source);
      source.addEventListener('open', () => resolve());
      source.addEventListener('error', () => reject(new Error('the EventSource failed to open')));
      source.addEventListener('note', (event) => received.push(event.data));
    });
    await opened;
    await hub.publish('user:alice', { type: 'note', data: 'for alice' });
    await hub.publish('user:bob', { type: 'note', data: 'for bob' });
    await expect.poll(() => received).toEqual(['for bob']);
  });

  it('answers 401 JSON, before any stream opens, without a valid session', async () => {
    const attempts: Array<Record<string, string>> = [{}, { cookie: 'session=forged' }];
    for (const headers of attempts) {
      const stream = await open(headers);
      expect(stream.status).toBe(401);
      expect(stream.headers['content-type']).toMatch(/^application\/json/);
    }
    await request(app.getHttpServer())
      .get('/notifications?token=forged')
      .set('accept', 'text/event-stream')
      .expect(401, { statusCode: 401, message: 'Sign in first', error: 'Unauthorized' });
  });
});

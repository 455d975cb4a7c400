import type { ClientHttp2Session } from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { type SseModuleOptions, StreamRegistry } from '../../src/index.js';
import { openHttp2Session } from '../../src/testing/index.js';
import { ConformanceAppModule } from '../src/conformance/conformance-app.module.js';
import { EventFeed } from '../src/production/event-feed.js';
import { LifecycleRecorder } from '../src/production/lifecycle-recorder.js';
import { RawEventStream } from '../src/production/raw-event-stream.js';
import { nextTurn } from '../support/deadline.js';
import { H2PausedStream } from '../support/h2-paused-stream.js';
import { CONFORMANCE_PLATFORMS, type PlatformApp } from '../support/platforms.js';

// A client that stops reading, on every platform: cut past its budget under 'close', or kept
// with a reset telling of the gap under 'drop-oldest'. Over HTTP/2 the paused client is one
// stream of a session with a small flow-control window, beside a sibling that keeps reading:
// only the paused stream is cut (RST_STREAM), never the session.

const BUDGET = 64 * 1024;
const DATA = 'x'.repeat(1024);
/** A bound on any flood: far more than loopback's kernel buffers hold. */
const MAX_EVENTS = 32_768;

/** A client that reads nothing until resumed, of either protocol. */
interface PausedClient {
  resume(): void;
  readonly events: Array<{ event?: string; id?: string; data: string }>;
  /** Resolves when the connection (HTTP/1.1) or the stream (HTTP/2) closed. */
  readonly closed: Promise<void>;
  waitFor(predicate: (client: this) => boolean, what: string, timeoutMs?: number): Promise<void>;
}

describe.each(CONFORMANCE_PLATFORMS)('slow clients on $name', (platform) => {
  let started: PlatformApp | undefined;
  let lifecycle: LifecycleRecorder | undefined;
  const cleanups: Array<() => unknown> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
    lifecycle?.stop();
    await started?.close();
    started = undefined;
  });

  async function start(options: SseModuleOptions): Promise<PlatformApp> {
    started = await platform.createApp(ConformanceAppModule.with({ heartbeatMs: 0, ...options }));
    lifecycle = new LifecycleRecorder(started.app.get(StreamRegistry));
    return started;
  }

  /** An HTTP/2 session whose streams each take 1 KiB before the client reads. */
  async function smallWindowSession(app: PlatformApp): Promise<ClientHttp2Session> {
    const session = await openHttp2Session(app.app, { settings: { initialWindowSize: 1024 } });
    cleanups.push(() => session.destroy());
    return session;
  }

  async function pausedClient(app: PlatformApp, path: string, session?: ClientHttp2Session) {
    const opens = lifecycle!.opens.length;
    let client: PausedClient;
    if (session !== undefined) {
      client = await H2PausedStream.open(session, path);
    } else {
      const raw = await RawEventStream.open(Number(new URL(app.origin).port), path);
      cleanups.push(() => raw.destroy());
      client = raw;
    }
    await lifecycle!.waitFor((l) => l.opens.length > opens, `the stream of ${path} to open`);
    return client;
  }

  /** Pushes 1 KiB events (a turn of the loop every 16, so the transport writes) until `done`. */
  async function flood(name: string, from: number, done: () => boolean): Promise<number> {
    const channel = started!.app.get(EventFeed).channel(name);
    let next = from;
    while (next < MAX_EVENTS && !done()) {
      channel.next({ id: next++, data: DATA });
      if (next % 16 === 0) await nextTurn();
    }
    expect(next, 'events pushed').toBeLessThan(MAX_EVENTS);
    return next;
  }

  it("cuts a client past maxBufferedBytes under 'close' (its stream only, over HTTP/2)", async () => {
    const app = await start({ maxBufferedBytes: BUDGET, slowClientPolicy: 'close' });
    const registry = app.app.get(StreamRegistry);
    const session = platform.protocol === '2' ? await smallWindowSession(app) : undefined;
    const slow = await pausedClient(app, '/c/feed/flood', session);
    const sibling = await app.openEventStream({ path: '/c/feed/sibling', session });
    const feed = app.app.get(EventFeed);

    await flood('flood', 0, () => lifecycle!.closes().length > 0);
    expect(lifecycle!.closes().map((c) => [c.reason, c.stream.path])).toEqual([
      ['slow-client', '/c/feed/flood'],
    ]);
    expect(registry.stats()).toMatchObject({ open: 1, slowClientsClosed: 1, eventsDropped: 0 });
    expect(feed.channel('flood').observed).toBe(false);

    slow.resume();
    await slow.closed;
    if (slow instanceof H2PausedStream) expect(slow.rstCode).toBe(8);
    else expect((slow as RawEventStream).bodyComplete).toBe(false);
    const delivered = slow.events.map((e) => Number(e.id));
    expect(delivered).toEqual(delivered.map((_, i) => i));

    // The sibling (on the same session over HTTP/2) still flows.
    feed.channel('sibling').next({ data: 'still here' });
    expect((await sibling.take(1)).map((e) => e.data)).toEqual(['still here']);
    if (session !== undefined) expect(session.destroyed).toBe(false);
    await sibling.close();
  });

  it("keeps a slow client under 'drop-oldest' and tells it of the gap with one reset", async () => {
    const app = await start({ maxBufferedBytes: BUDGET, slowClientPolicy: 'drop-oldest' });
    const registry = app.app.get(StreamRegistry);
    const session = platform.protocol === '2' ? await smallWindowSession(app) : undefined;
    const slow = await pausedClient(app, '/c/feed/flood', session);
    const sibling = await app.openEventStream({ path: '/c/feed/sibling', session });
    const feed = app.app.get(EventFeed);

    const firstDrop = await flood('flood', 0, () => registry.stats().eventsDropped > 0);
    // 300 more in one synchronous run: the newest are kept.
    const pushed = firstDrop + 300;
    for (let id = firstDrop; id < pushed; id++) feed.channel('flood').next({ id, data: DATA });
    const { eventsDropped } = registry.stats();
    expect(eventsDropped).toBeGreaterThanOrEqual(300);
    expect(lifecycle!.closes()).toEqual([]);

    // The sibling is not held up by the paused stream.
    feed.channel('sibling').next({ data: 'meanwhile' });
    expect((await sibling.take(1)).map((e) => e.data)).toEqual(['meanwhile']);

    slow.resume();
    const newest = String(pushed - 1);
    await slow.waitFor((c) => c.events.at(-1)?.id === newest, `event ${newest}`, 10_000);
    const resets = slow.events.filter((e) => e.event === 'reset');
    expect(resets).toHaveLength(1);
    expect(JSON.parse(resets[0]!.data)).toEqual({ reason: 'slow-client', dropped: eventsDropped });
    const at = slow.events.indexOf(resets[0]!);
    const before = slow.events.slice(0, at).map((e) => Number(e.id));
    const after = slow.events.slice(at + 1).map((e) => Number(e.id));
    expect(before).toEqual(before.map((_, i) => i));
    expect(after).toEqual(after.map((_, i) => pushed - after.length + i));
    expect(after[0]! - before.length).toBe(eventsDropped);
    expect(registry.stats().open).toBe(2);
    await sibling.close();
  });
});

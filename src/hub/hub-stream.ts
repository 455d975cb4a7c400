import { Observable } from 'rxjs';
import type { SseBroker, StoredEvent } from '../brokers/sse-broker.interface.js';
import { flowControl } from '../connection/flow-control.js';
import type { PullTarget } from '../connection/stream-sources.js';
import type { HubStreamObserver } from '../metrics/hub-tally.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import { canonicalChannels, encodeCursor, parseCursor } from './cursor.js';
import type { SubscriberCount } from './subscriber-count.js';

/** What `SseHub.stream()` returns: an Observable of the channels' events. */
export type HubStream = Observable<SseEvent>;

/** How a hub stream replays, filters and resets. */
export interface HubStreamSettings {
  readonly pageSize: number;
  readonly bufferLimit: number;
  readonly resetEvent: string;
  /** Keeps an event when true; the stream's position moves past the others all the same. */
  readonly filter?: (event: StoredEvent) => boolean;
  readonly subscribers: SubscriberCount;
  /** Told how a resume went and of broker failures, for the metrics. */
  readonly observer?: HubStreamObserver;
}

/** Where a hub stream's events go, and how fast they may. */
interface HubSink {
  next(event: SseEvent): void;
  /** The stream's position, straight to the connection (past the user's operators), if any. */
  position(id: string): void;
  readonly writable: boolean;
  drained(): Promise<void>;
  readonly isOpen: boolean;
}

/**
 * A stream of one or more channels: it subscribes first, then (for a resuming client) replays
 * the history after its cursor page by page as the socket drains, then goes on live. Live
 * events that arrive during the replay wait, and those the replay already sent are skipped, so
 * there is no gap and no duplicate between the two.
 *
 * Backpressure does not depend on this Observable being what the handler returned: when it is
 * subscribed, it takes the connection being attached from {@link flowControl}, which every
 * operator of a pipe (`filter`, `map`…) subscribes within. Subscribed outside a stream (a test,
 * an inner Observable of `switchMap`), it replays without waiting.
 *
 * One channel: each event keeps the broker's id and is the very object every subscriber gets,
 * so its frame is serialized once. Several channels: the id is a cursor of the position in
 * each channel, which is per stream, so such frames are serialized per connection.
 */
export function hubStream(
  broker: SseBroker,
  channels: readonly string[],
  lastEventId: string | undefined,
  settings: HubStreamSettings,
): HubStream {
  return new Observable<SseEvent>((subscriber) => {
    const target: PullTarget | undefined = flowControl.current();
    const stop = attachHub(
      broker,
      channels,
      lastEventId,
      settings,
      {
        next: (event) => subscriber.next(event),
        position: (id) => target?.next({ id }),
        get writable() {
          return target?.writable ?? true;
        },
        drained: () => target?.drained() ?? Promise.resolve(),
        get isOpen() {
          return !subscriber.closed && (target?.isOpen ?? true);
        },
      },
      (error) => subscriber.error(error),
    );
    return stop;
  });
}

function attachHub(
  broker: SseBroker,
  listed: readonly string[],
  lastEventId: string | undefined,
  settings: HubStreamSettings,
  sink: HubSink,
  fail: (error: unknown) => void,
): () => void {
  const channels = canonicalChannels(listed);
  const single = channels.length === 1;
  const index = new Map(channels.map((channel, i) => [channel, i]));
  let positions: Array<string | undefined> = channels.map(() => undefined);
  let replaying = true;
  let overflowed = false;
  /** The broker lost live events of a channel: catch up from history before going on. */
  let gapped = false;
  let stopped = false;
  const waiting: StoredEvent[] = [];
  let unsubscribes: Array<() => void> = [];

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    for (const unsubscribe of unsubscribes) unsubscribe();
  };
  const failed = (error: unknown): void => {
    if (stopped) return;
    settings.observer?.failed(error);
    stop();
    fail(error);
  };
  const deliver = (event: StoredEvent): void => {
    const i = index.get(event.channel);
    if (i === undefined) return;
    const seen = positions[i];
    if (seen !== undefined && broker.compareIds(event.id, seen) <= 0) return;
    positions[i] = event.id;
    if (settings.filter !== undefined) {
      let keep: boolean;
      try {
        keep = settings.filter(event);
      } catch (error) {
        // Thrown in a broker's delivery loop, it would reach the publisher: it ends this stream.
        failed(error);
        return;
      }
      if (!keep) return;
    }
    if (single) {
      sink.next(event);
    } else {
      const { channel: _channel, ...rest } = event;
      sink.next({ ...rest, id: encodeCursor(positions) });
    }
  };
  const onGap = (): void => {
    if (stopped) return;
    gapped = true;
    if (!replaying) catchUp(true).catch(failed);
  };
  const subscribe = (): Promise<Array<string | undefined>> => {
    const subscriptions = channels.map((channel) =>
      broker.subscribe(
        channel,
        (event) => {
          if (stopped) return;
          if (!replaying) {
            deliver(event);
          } else if (waiting.length < settings.bufferLimit) {
            waiting.push(event);
          } else {
            overflowed = true;
          }
        },
        onGap,
      ),
    );
    for (const channel of channels) settings.subscribers.add(channel);
    unsubscribes = [
      ...subscriptions.map((subscription) => () => subscription.unsubscribe()),
      () => channels.forEach((channel) => settings.subscribers.remove(channel)),
    ];
    return Promise.all(subscriptions.map((subscription) => subscription.ready));
  };
  const latest = (): Promise<Array<string | undefined>> =>
    Promise.all(channels.map((channel) => broker.latestId(channel)));
  const reset = async (reason: string): Promise<void> => {
    positions = await latest();
    if (stopped) return;
    sink.next({ type: settings.resetEvent, id: encodeCursor(positions), data: { reason } });
  };

  /** Sends the history after `positions`; false when it cannot be resumed from. */
  const replay = async (): Promise<boolean> => {
    const pages: StoredEvent[][] = [];
    const exhausted: boolean[] = [];
    const read = async (i: number, after: string | undefined): Promise<boolean> => {
      const page = await broker.readAfter(channels[i]!, after, settings.pageSize);
      pages[i] = [...page.events];
      exhausted[i] = page.events.length < settings.pageSize;
      return page.resumable;
    };
    const from = positions.slice();
    for (let i = 0; i < channels.length; i++) {
      if (!(await read(i, from[i]))) return false;
    }
    for (;;) {
      if (stopped) return true;
      let next = -1;
      for (let i = 0; i < pages.length; i++) {
        const head = pages[i]![0];
        if (
          head !== undefined &&
          (next === -1 || broker.compareIds(head.id, pages[next]![0]!.id) < 0)
        ) {
          next = i;
        }
      }
      if (next === -1) return true;
      if (!sink.writable) await sink.drained();
      if (stopped || !sink.isOpen) return true;
      const event = pages[next]!.shift()!;
      deliver(event);
      if (pages[next]!.length === 0 && !exhausted[next]) {
        await read(next, event.id);
      }
    }
  };

  /**
   * Replays (when `replayFirst`, or when the broker reported a gap meanwhile), then goes live.
   * Past the buffer limit, what waited is dropped and the client is told. Live events keep
   * waiting until a reset is out, so none goes out before it or beyond its position.
   */
  const catchUp = async (replayFirst: boolean): Promise<void> => {
    replaying = true;
    let replayNow = replayFirst;
    let resuming = replayFirst;
    for (;;) {
      if (replayNow) {
        gapped = false;
        const resumable = await replay();
        // The client's own resume is reported once; a gap's catch-up is not a resume.
        if (resuming) settings.observer?.replayed(resumable);
        resuming = false;
        if (!resumable) await reset('history-gap');
      }
      while (overflowed && !stopped) {
        overflowed = false;
        waiting.length = 0;
        await reset('replay-overflow');
      }
      if (stopped) return;
      if (!gapped) break;
      replayNow = true;
    }
    replaying = false;
    for (const event of waiting.splice(0)) deliver(event);
  };

  const run = async (): Promise<void> => {
    // Subscribed before history is read: whatever the replay misses arrives live.
    const liveFrom = await subscribe();
    if (stopped) return;
    if (lastEventId === undefined) {
      // Live from where each subscription starts. The client learns that position now, so a
      // reconnect before its first event resumes from there instead of losing what came between.
      positions = liveFrom;
      sink.position(encodeCursor(positions));
      await catchUp(false);
      return;
    }
    const parsed = parseCursor(lastEventId, channels.length);
    if (parsed === undefined) {
      settings.observer?.replayed(false);
      await reset('unknown-id');
      await catchUp(false);
    } else {
      positions = parsed;
      // Its own position in the canonical form (a reordered or query-given cursor).
      sink.position(encodeCursor(positions));
      await catchUp(true);
    }
  };

  run().catch(failed);
  return stop;
}

import { Observable } from 'rxjs';
import type { SseBroker, StoredEvent } from '../brokers/sse-broker.interface.js';
import {
  ATTACH_SOURCE,
  type PullTarget,
  type SelfAttachingSource,
  type SourceHold,
} from '../connection/stream-sources.js';
import type { HubStreamObserver } from '../metrics/hub-tally.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import { encodeCursor, parseCursor } from './cursor.js';

/** What `SseHub.stream()` returns: an Observable, that also drives a connection itself. */
export type HubStream = Observable<SseEvent> & SelfAttachingSource;

/** How a hub stream replays and resets. */
export interface HubStreamSettings {
  readonly pageSize: number;
  readonly bufferLimit: number;
  readonly resetEvent: string;
  /** Told how a resume went and of broker failures, for the metrics. */
  readonly observer?: HubStreamObserver;
}

/**
 * A stream of one or more channels: it subscribes first, then (for a resuming client) replays
 * the history after its cursor page by page as the socket drains, then goes on live. Live
 * events that arrive during the replay wait, and those the replay already sent are skipped, so
 * there is no gap and no duplicate between the two.
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
  const attach = (sink: PullTarget) => attachHub(broker, channels, lastEventId, settings, sink);
  const observable = new Observable<SseEvent>((subscriber) =>
    attach({
      next: (event) => subscriber.next(event),
      error: (error) => subscriber.error(error),
      complete: () => subscriber.complete(),
      get isOpen() {
        return !subscriber.closed;
      },
      writable: true,
      drained: () => Promise.resolve(),
    }),
  );
  return Object.assign(observable, { [ATTACH_SOURCE]: attach });
}

function attachHub(
  broker: SseBroker,
  channels: readonly string[],
  lastEventId: string | undefined,
  settings: HubStreamSettings,
  sink: PullTarget,
): SourceHold {
  const single = channels.length === 1;
  const index = new Map(channels.map((channel, i) => [channel, i]));
  let positions: Array<string | undefined> = channels.map(() => undefined);
  let replaying = true;
  let overflowed = false;
  let stopped = false;
  const waiting: StoredEvent[] = [];
  let unsubscribes: Array<() => void> = [];

  const deliver = (event: StoredEvent): void => {
    const i = index.get(event.channel)!;
    const seen = positions[i];
    if (seen !== undefined && broker.compareIds(event.id, seen) <= 0) return;
    positions[i] = event.id;
    if (single) {
      sink.next(event);
    } else {
      const { channel: _channel, ...rest } = event;
      sink.next({ ...rest, id: encodeCursor(positions) });
    }
  };
  const subscribe = (): Promise<Array<string | undefined>> => {
    const subscriptions = channels.map((channel) =>
      broker.subscribe(channel, (event) => {
        if (stopped) return;
        if (!replaying) {
          deliver(event);
        } else if (waiting.length < settings.bufferLimit) {
          waiting.push(event);
        } else {
          overflowed = true;
        }
      }),
    );
    unsubscribes = subscriptions.map((subscription) => () => subscription.unsubscribe());
    return Promise.all(subscriptions.map((subscription) => subscription.ready));
  };
  const latest = (): Promise<Array<string | undefined>> =>
    Promise.all(channels.map((channel) => broker.latestId(channel)));
  const reset = async (reason: string): Promise<void> => {
    positions = await latest();
    const id = single ? (positions[0] ?? '') : encodeCursor(positions);
    sink.next({ type: settings.resetEvent, id, data: { reason } });
  };

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

  const run = async (): Promise<void> => {
    // Subscribed before history is read: whatever the replay misses arrives live.
    const liveFrom = await subscribe();
    if (lastEventId === undefined) {
      // Live from where each subscription starts: a later resume replays from there.
      positions = liveFrom;
    } else {
      const parsed = parseCursor(lastEventId, channels.length);
      if (parsed === undefined) {
        settings.observer?.replayed(false);
        await reset('unknown-id');
      } else {
        positions = parsed;
        const resumable = await replay();
        settings.observer?.replayed(resumable);
        if (!resumable) await reset('history-gap');
      }
    }
    // Past the buffer limit, what waited is dropped and the client is told. Live events keep
    // waiting until the reset is out, so none goes out before it or beyond its position.
    while (overflowed && !stopped) {
      overflowed = false;
      waiting.length = 0;
      await reset('replay-overflow');
    }
    if (stopped) return;
    replaying = false;
    for (const event of waiting.splice(0)) deliver(event);
  };

  run().catch((error: unknown) => {
    settings.observer?.failed(error);
    if (!stopped) sink.error(error);
  });
  return {
    unsubscribe: () => {
      stopped = true;
      for (const unsubscribe of unsubscribes) unsubscribe();
    },
  };
}

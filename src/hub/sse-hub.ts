import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { memoryBroker } from '../brokers/memory.broker.js';
import type { BrokerHealth, SseBroker, StoredEvent } from '../brokers/sse-broker.interface.js';
import { StreamRegistry } from '../connection/stream-registry.js';
import { InvalidChannelError } from '../errors/invalid-channel.error.js';
import { InvalidHubEventError } from '../errors/invalid-hub-event.error.js';
import { ProducerIdError } from '../errors/producer-id.error.js';
import type {
  ChannelData,
  ChannelEvent,
  ChannelEventType,
  ChannelName,
  HubEvent,
  StreamedEvent,
  UntypedChannels,
} from './hub-channels.js';
import { HubTally } from '../metrics/hub-tally.js';
import { type HubStream, hubStream } from './hub-stream.js';
import { ownedEvent } from './owned-event.js';
import { SubscriberCount } from './subscriber-count.js';

/** Options of {@link SseHub.stream}. */
export interface HubStreamOptions<E = StoredEvent> {
  /** Where the client is: `@LastEventId()`. Omitted: live events from now on. */
  lastEventId?: string;
  /**
   * Keeps the events it returns true for, live and replayed (a per-user filter on a shared
   * channel). The stream's position moves past the others all the same, so a client resuming
   * is not sent them again. Resets always pass. A filter that throws ends the stream.
   */
  filter?: (event: E) => boolean;
}

/** Options of {@link SseHub.publish}. */
export interface HubPublishOptions {
  /**
   * Makes a retry safe: a publish with a key already used on the channel within the broker's
   * `retention.idempotencyWindowMs` (default 5 minutes) stores and sends nothing, and resolves
   * with the first publish's id. At most 256 characters.
   */
  idempotencyKey?: string;
}

/** Options of {@link SseHub.publishData}. */
export interface HubPublishDataOptions<Type extends string = string> extends HubPublishOptions {
  /** The event name; omitted, browsers dispatch it as `message`. */
  type?: Type;
}

/** What `publish()` takes on a channel: its events, and a string on an untyped hub. */
export type PublishedValue<Channels, Channel extends string> = ChannelEvent<Channels, Channel>;

const EVENT_KEYS = new Set(['data', 'type', 'retry', 'comment']);
// oxlint-disable-next-line no-control-regex -- control characters are exactly what it refuses
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Publish to channels from anywhere; stream channels to clients, with resume from
 * `Last-Event-ID`. Backed by the module's broker (memory by default, Redis to scale out).
 * Declare its channels once (`SseHub<AppChannels>`, see {@link HubChannels}) to have `tsc`
 * check every publish and stream.
 *
 * @example
 * ```ts
 * @Controller('notifications')
 * export class NotificationsController {
 *   constructor(private readonly hub: SseHub) {}
 *
 *   @EventStream()
 *   @UseGuards(AuthGuard)
 *   stream(@Req() req: AuthedRequest, @LastEventId() lastEventId?: string) {
 *     return this.hub.stream([`user:${req.user.id}`, 'broadcast'], { lastEventId });
 *   }
 * }
 * // elsewhere: await hub.publish(`user:${id}`, { type: 'invoice', data: invoice });
 * ```
 */
@Injectable()
export class SseHub<Channels extends UntypedChannels = UntypedChannels>
  implements OnModuleInit, OnApplicationShutdown
{
  /** The broker the hub runs on. */
  readonly broker: SseBroker;
  private readonly counts = new SubscriberCount();
  /** What the hub did, for the metrics (read when they are collected). */
  readonly tally = new HubTally();

  constructor(@Inject(StreamRegistry) private readonly registry: StreamRegistry) {
    this.broker = registry.options.broker ?? memoryBroker();
  }

  async onModuleInit(): Promise<void> {
    await this.broker.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    // Streams were ended in beforeApplicationShutdown: nothing reads from the broker now.
    await this.broker.close();
  }

  /**
   * Stores an event in a channel and sends it to its subscribers; resolves with the id the hub
   * gave it once it is stored and sent to this instance's subscribers. The event is an object
   * with `data` and no key but `data`, `type`, `retry`, `comment`; anything else is refused with
   * {@link InvalidHubEventError} (an `id` with {@link ProducerIdError}), never guessed at. A
   * string is the data of a `message` on an untyped hub. What is stored is a deep copy: changing
   * the object afterwards changes nothing that is sent.
   *
   * @example
   * ```ts
   * const id = await hub.publish('news', { type: 'headline', data: { title: 'Hello' } });
   * await hub.publish('orders', { data: order }, { idempotencyKey: `order-${order.id}` });
   * ```
   */
  async publish<Channel extends ChannelName<Channels>>(
    channel: Channel,
    event: PublishedValue<Channels, Channel>,
    options: HubPublishOptions = {},
  ): Promise<string> {
    assertChannel(channel);
    return this.store(channel, toHubEvent(channel, event), options);
  }

  /**
   * Publishes any value as the data of an event (`type`: its name): what `publish()` does with
   * `{ data, type }`, for values that are not event objects.
   *
   * @example
   * ```ts
   * await hub.publishData('prices', { symbol: 'ACME', price: 12.5 }, { type: 'price' });
   * ```
   */
  async publishData<Channel extends ChannelName<Channels>>(
    channel: Channel,
    data: ChannelData<Channels, Channel>,
    options: HubPublishDataOptions<ChannelEventType<Channels, Channel>> = {},
  ): Promise<string> {
    assertChannel(channel);
    if (data === undefined) throw new InvalidHubEventError(channel, 'its data is undefined');
    const { type, ...rest } = options;
    return this.store(channel, type === undefined ? { data } : { type, data }, rest);
  }

  /**
   * How many hub streams of this instance follow `channel` now (each client's stream counts
   * once, whatever else it follows).
   *
   * @example
   * ```ts
   * if (hub.subscribers(`user:${id}`) === 0) await sendEmail(id); // nobody is watching here
   * ```
   */
  subscribers(channel: ChannelName<Channels>): number {
    return this.counts.of(channel);
  }

  /**
   * Whether the hub's broker can publish and deliver now, for a readiness probe (Redis down:
   * `down`; its reader reconnecting: `degraded`).
   *
   * @example
   * ```ts
   * const { status, details } = await hub.health();
   * ```
   */
  health(options: { signal?: AbortSignal } = {}): Promise<BrokerHealth> {
    return this.broker.health(options);
  }

  /**
   * The stream of one or more channels for an `@EventStream()` handler to return. It starts
   * with the client's position (an `id:` line, which sets a browser's `lastEventId` without
   * dispatching anything), so a client that reconnects before its first event resumes from
   * there. With a `lastEventId`, the events after it are replayed first; when they cannot be
   * (too old, unknown, malformed), a `reset` event comes first, so a gap is never silent. The
   * channels may be listed in any order: a cursor resumes whatever order they come in.
   * Operators may be piped onto it (`.pipe(filter(...))`): the replay still waits for the
   * socket, page by page.
   *
   * @example
   * ```ts
   * return this.hub.stream('orders', {
   *   lastEventId,
   *   filter: (event) => (event.data as Order).ownerId === user.id,
   * });
   * ```
   */
  stream<Channel extends ChannelName<Channels>>(
    channels: Channel | readonly Channel[],
    options: HubStreamOptions<StreamedEvent<Channels, Channel>> = {},
  ): HubStream {
    const list = [...new Set<string>(typeof channels === 'string' ? [channels] : channels)];
    if (list.length === 0) throw new InvalidChannelError('a stream needs at least one channel');
    list.forEach(assertChannel);
    const { replayPageSize, replayBufferLimit, resetEvent } = this.registry.options;
    return hubStream(this.broker, list, options.lastEventId, {
      pageSize: replayPageSize,
      bufferLimit: replayBufferLimit,
      resetEvent,
      filter: options.filter as ((event: StoredEvent) => boolean) | undefined,
      subscribers: this.counts,
      observer: this.tally,
    });
  }

  private async store(channel: string, event: HubEvent, options: HubPublishOptions) {
    const key = options.idempotencyKey;
    if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 256)) {
      throw new InvalidHubEventError(
        channel,
        'its idempotencyKey is not a string of 1 to 256 characters',
      );
    }
    // Serialized once, here: refused before anything is stored, and the broker stamps its id
    // into these bytes instead of serializing again.
    const { event: owned, serialized } = ownedEvent(event);
    const stored = await this.tally.publish(() =>
      this.broker.publish(channel, owned, { idempotencyKey: key, serialized }),
    );
    return stored.id;
  }
}

/** The event a `publish()` value is, or why it is none. */
function toHubEvent(channel: string, value: unknown): HubEvent {
  if (typeof value === 'string') return { data: value };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidHubEventError(
      channel,
      `it is ${Array.isArray(value) ? 'an array' : `a ${typeof value}`}`,
    );
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    throw new InvalidHubEventError(channel, 'it is not a plain object');
  }
  if ('id' in value) throw new ProducerIdError(channel);
  const unknownKeys = Object.keys(value).filter((key) => !EVENT_KEYS.has(key));
  if (unknownKeys.length > 0) {
    const list = unknownKeys.map((key) => `"${key}"`).join(', ');
    throw new InvalidHubEventError(channel, `it has unknown key(s) ${list}`);
  }
  const event = value as HubEvent;
  if (event.data === undefined) throw new InvalidHubEventError(channel, 'it has no data');
  return { ...event };
}

function assertChannel(channel: unknown): asserts channel is string {
  if (typeof channel !== 'string' || channel.length === 0) {
    throw new InvalidChannelError('a channel is a non-empty string');
  }
  if (channel.length > 256)
    throw new InvalidChannelError('a channel name has at most 256 characters');
  if (CONTROL.test(channel))
    throw new InvalidChannelError('a channel name has no control characters');
}

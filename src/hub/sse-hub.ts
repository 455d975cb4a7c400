import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { memoryBroker } from '../brokers/memory.broker.js';
import type { BrokerHealth, SseBroker } from '../brokers/sse-broker.interface.js';
import { StreamRegistry } from '../connection/stream-registry.js';
import { InvalidChannelError } from '../errors/invalid-channel.error.js';
import { ProducerIdError } from '../errors/producer-id.error.js';
import { HubTally } from '../metrics/hub-tally.js';
import { serializeEvent } from '../wire/frame.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import { type HubStream, hubStream } from './hub-stream.js';

/** Options of {@link SseHub.stream}. */
export interface HubStreamOptions {
  /** Where the client is: `@LastEventId()`. Omitted: live events only. */
  lastEventId?: string;
}

const EVENT_KEYS = new Set(['data', 'type', 'id', 'retry', 'comment']);
// oxlint-disable-next-line no-control-regex -- control characters are exactly what it refuses
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Publish to channels from anywhere; stream channels to clients, with resume from
 * `Last-Event-ID`. Backed by the module's broker (memory by default, Redis to scale out).
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
export class SseHub implements OnModuleInit, OnApplicationShutdown {
  /** The broker the hub runs on. */
  readonly broker: SseBroker;
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
   * gave it once it is stored and sent to this instance's subscribers. A value that is not an
   * event (an object with `data` and no key other than `data`, `type`, `retry`, `comment`) is
   * sent as the event's data.
   */
  async publish(channel: string, eventOrData: SseEvent | unknown): Promise<string> {
    assertChannel(channel);
    const event = toEvent(eventOrData);
    if (event.id !== undefined) throw new ProducerIdError(channel);
    // Refused here, before anything is stored, rather than when a stream writes it.
    serializeEvent(event);
    return (await this.tally.publish(() => this.broker.publish(channel, event))).id;
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
   * The stream of one or more channels for an `@EventStream()` handler to return. With a
   * `lastEventId`, the events after it are replayed first; when they cannot be (too old,
   * unknown, malformed), a `reset` event comes first, so a gap is never silent.
   */
  stream(channels: string | readonly string[], options: HubStreamOptions = {}): HubStream {
    const list = [...new Set(typeof channels === 'string' ? [channels] : channels)];
    if (list.length === 0) throw new InvalidChannelError('a stream needs at least one channel');
    list.forEach(assertChannel);
    const { replayPageSize, replayBufferLimit, resetEvent } = this.registry.options;
    return hubStream(this.broker, list, options.lastEventId, {
      pageSize: replayPageSize,
      bufferLimit: replayBufferLimit,
      resetEvent,
      observer: this.tally,
    });
  }
}

function toEvent(value: unknown): SseEvent {
  if (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype &&
    'data' in value &&
    Object.keys(value).every((key) => EVENT_KEYS.has(key))
  ) {
    return { ...(value as SseEvent) };
  }
  return { data: value };
}

function assertChannel(channel: unknown): void {
  if (typeof channel !== 'string' || channel.length === 0) {
    throw new InvalidChannelError('a channel is a non-empty string');
  }
  if (channel.length > 256)
    throw new InvalidChannelError('a channel name has at most 256 characters');
  if (CONTROL.test(channel))
    throw new InvalidChannelError('a channel name has no control characters');
}

import type { StoredEvent } from '../brokers/sse-broker.interface.js';

/**
 * An event as the hub publishes it: `data` is required, and there is no `id` (the broker gives
 * it). `Data` and `Type` narrow what a channel carries in a {@link HubChannels} map.
 *
 * @example
 * ```ts
 * type InvoiceEvent = HubEvent<Invoice, 'invoice'>;
 * ```
 */
export interface HubEvent<Data = unknown, Type extends string = string> {
  /** Sent as it is when a string, as JSON otherwise. */
  data: Data;
  /** The event name; browsers dispatch nameless events as `message`. */
  type?: Type;
  /** Reconnection delay hint in milliseconds. */
  retry?: number;
  /** A comment sent before the event. */
  comment?: string;
}

/**
 * The channels of a typed hub and the events each carries, declared once: keys are channel
 * names or template-literal patterns. `SseHub<Channels>` then checks every `publish()`,
 * `publishData()` and `stream()` against it at compile time. Declare it as a `type` (an
 * `interface` has no implicit index signature, so it does not fit `SseHub`'s constraint).
 *
 * @example
 * ```ts
 * type AppChannels = {
 *   news: HubEvent<{ title: string }, 'headline'>;
 *   [user: `user:${string}`]: HubEvent<Invoice, 'invoice'> | HubEvent<string, 'notice'>;
 * };
 * constructor(private readonly hub: SseHub<AppChannels>) {}
 * ```
 */
export type HubChannels<Channels> = { [Channel in keyof Channels]: HubEvent };

/**
 * The hub's default map (any channel, any event, and a string as the data of a message), and
 * the shape every map fits.
 */
export interface UntypedChannels {
  [channel: string]: HubEvent | string;
}

/** The channel names of a map. */
export type ChannelName<Channels> = Extract<keyof Channels, string>;

/** The events of a channel, its pattern matched. */
export type ChannelEvent<Channels, Channel extends string> = Channel extends keyof Channels
  ? Channels[Channel]
  : never;

/** The `data` of a channel's events. */
export type ChannelData<Channels, Channel extends string> =
  ChannelEvent<Channels, Channel> extends infer E ? (E extends HubEvent<infer D> ? D : E) : never;

/** The event names of a channel's events. */
export type ChannelEventType<Channels, Channel extends string> =
  ChannelEvent<Channels, Channel> extends infer E
    ? E extends HubEvent<unknown, infer T>
      ? T
      : never
    : never;

/** A channel's event as a hub stream hands it to a `filter`: stored, with its id and channel. */
export type StreamedEvent<Channels, Channel extends string> = StoredEvent &
  Readonly<Extract<ChannelEvent<Channels, Channel>, HubEvent>> & { readonly channel: string };

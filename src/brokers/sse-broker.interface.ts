import type { SseEvent } from '../wire/sse-event.interface.js';

/**
 * An event as a channel's log holds it: frozen (so its frame can be serialized once for every
 * connection), with the id the broker assigned.
 */
export interface StoredEvent extends Readonly<SseEvent> {
  readonly id: string;
  readonly channel: string;
}

/** One page of a channel's history. */
export interface HistoryPage {
  /** Events after the requested id, oldest first. */
  readonly events: readonly StoredEvent[];
  /**
   * False when the requested id cannot be resumed from: older than what is retained (events
   * were trimmed after it), from another epoch or store, or malformed.
   */
  readonly resumable: boolean;
}

/** A listener's hold on a channel. */
export interface BrokerSubscription {
  readonly ready: Promise<string | undefined>;
  unsubscribe(): void;
}

/** Options of {@link SseBroker.publish}. */
export interface PublishOptions {
  /**
   * Makes a retried publish safe: a publish with a key already seen on this channel within the
   * broker's idempotency window stores nothing and resolves with the first publish's event.
   */
  idempotencyKey?: string;
  /**
   * The event's frame as `serializeEvent()` writes it without an id, when the caller already
   * serialized it (`SseHub.publish` does): the broker stamps its id into these bytes; a Redis
   * broker stores what they were written from and writes the same bytes again when it reads them.
   * With it, the caller hands the event over: the broker may keep and freeze that very object,
   * so the caller must hold no other reference to it (nor to its `data`).
   */
  serialized?: string;
}

/** Why a broker could not deliver a channel's events in order to a listener. */
export type GapReason = 'history-gap';

/** What a broker says of its health, for readiness probes. */
export interface BrokerHealth {
  /** `up`: publishes and live reads work; `degraded`: reconnecting; `down`: unreachable. */
  readonly status: 'up' | 'degraded' | 'down';
  /** Details for operators (connection states, how far behind the reader is, the last error). */
  readonly details: Readonly<Record<string, unknown>>;
}

/** How much history a broker keeps per channel. */
export interface RetentionOptions {
  /**
   * Events kept per channel (Redis trims approximately, in whole nodes).
   * @default 1000
   */
  maxEvents?: number;
  /**
   * Events older than this are dropped.
   * @default 3600000 (1 hour)
   */
  maxAgeMs?: number;
  /**
   * A channel with no publish for this long is forgotten with its history.
   * @default 86400000 (24 hours)
   */
  idleChannelMs?: number;
  /**
   * Bytes of events kept per channel (memory broker only; Redis Streams cannot trim by size).
   * @default Infinity
   */
  maxBytes?: number;
  /**
   * How long a publish's `idempotencyKey` is remembered per channel: a retry with the same key
   * within it stores nothing and resolves with the first publish's event. The memory broker
   * also remembers at most `maxEvents` keys per channel (the newest).
   * @default 300000 (5 minutes)
   */
  idempotencyWindowMs?: number;
}

/**
 * Where the hub stores channel logs and fans events out: `memoryBroker()` in one process,
 * `redisBroker()` across instances.
 */
export interface SseBroker {
  /** Connects, if there is anything to connect to; rejects with a clear error otherwise. */
  connect(): Promise<void>;
  /**
   * Appends an event to a channel's log and resolves with it (its id assigned) once it is stored
   * and delivered to this process's listeners of the channel.
   */
  publish(channel: string, event: SseEvent, options?: PublishOptions): Promise<StoredEvent>;
  /**
   * Live events of a channel. `ready` resolves with the id after which every event is
   * delivered to the listener (`undefined`: from the channel's first event). `onGap` is called
   * when the broker finds it cannot deliver every event after the last one it delivered (a
   * reader that fell behind the channel's retention): the listener must resume from its own
   * position (history) or tell its client of the gap; the broker goes on with newer events.
   */
  subscribe(
    channel: string,
    listener: (event: StoredEvent) => void,
    onGap?: (reason: GapReason) => void,
  ): BrokerSubscription;
  /** Up to `limit` events after `afterId` (from the start of the log when undefined). */
  readAfter(channel: string, afterId: string | undefined, limit: number): Promise<HistoryPage>;
  /** The id of the newest event of a channel, if any. */
  latestId(channel: string): Promise<string | undefined>;
  /** Orders two ids of this broker (negative when `a` is older). */
  compareIds(a: string, b: string): number;
  /** Releases every timer and connection. */
  close(): Promise<void>;
  /** Whether the broker can publish and read now (readiness, not liveness). */
  health(options?: { signal?: AbortSignal }): Promise<BrokerHealth>;
}

/** The retention defaults, shared by every broker. */
export const RETENTION_DEFAULTS: Readonly<Required<RetentionOptions>> = Object.freeze({
  maxEvents: 1000,
  maxAgeMs: 60 * 60 * 1000,
  idleChannelMs: 24 * 60 * 60 * 1000,
  maxBytes: Infinity,
  idempotencyWindowMs: 5 * 60 * 1000,
});

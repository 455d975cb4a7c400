import { randomBytes } from 'node:crypto';
import { serializeEvent } from '../wire/frame.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import {
  type BrokerHealth,
  type BrokerSubscription,
  type GapReason,
  type HistoryPage,
  type PublishOptions,
  RETENTION_DEFAULTS,
  type RetentionOptions,
  type SseBroker,
  type StoredEvent,
} from './sse-broker.interface.js';
import { storedEvent } from './stored-event.js';

interface Entry {
  readonly event: StoredEvent;
  readonly seq: number;
  readonly at: number;
  readonly bytes: number;
}

interface Channel {
  entries: Entry[];
  bytes: number;
  /** Sequence of the newest event trimmed away (0: none). */
  trimmedUpTo: number;
  /** Whether an event was ever removed from this log: then it cannot be replayed from its start. */
  trimmed: boolean;
  lastPublishAt: number;
  readonly listeners: Set<(event: StoredEvent) => void>;
  /** Idempotency keys of recent publishes, oldest first, with the event each one stored. */
  readonly keys: Map<string, { readonly event: StoredEvent; readonly at: number }>;
}

/** Options of {@link memoryBroker}. */
export interface MemoryBrokerOptions {
  /** How much history is kept per channel, and how long idempotency keys are remembered. */
  retention?: RetentionOptions;
}

/**
 * The default broker: channel logs in this process's memory. Ids are `<epoch>-<sequence>`; the
 * epoch is new at every start, so an id from before a restart is never resumed in the wrong
 * place (it gets a `reset`).
 *
 * Each stored event is a deep-frozen copy the broker owns: what the publisher does to its object
 * afterwards changes nothing that is sent, live or replayed. A channel's state lives while it
 * has subscribers or history: one that was subscribed to and never published to is forgotten
 * when its last subscriber leaves (`health().details.channels` counts what is held).
 *
 * @example
 * ```ts
 * SseModule.forRoot({ broker: memoryBroker({ retention: { maxEvents: 500 } }) })
 * ```
 */
export function memoryBroker(options: MemoryBrokerOptions = {}): SseBroker {
  return new MemoryBroker({ ...RETENTION_DEFAULTS, ...options.retention });
}

class MemoryBroker implements SseBroker {
  private readonly epoch = randomBytes(4).toString('hex');
  private readonly channels = new Map<string, Channel>();
  private seq = 0;
  /** Newest sequence of any channel forgotten for being idle. */
  private expiredUpTo = 0;
  private sweeper?: NodeJS.Timeout;

  constructor(private readonly retention: Required<RetentionOptions>) {}

  async connect(): Promise<void> {
    const period = Math.min(this.retention.maxAgeMs, this.retention.idleChannelMs, 60_000);
    this.sweeper = setInterval(() => this.sweep(Date.now()), Math.max(1000, period / 2));
    this.sweeper.unref();
  }

  async publish(name: string, event: SseEvent, options: PublishOptions = {}): Promise<StoredEvent> {
    const channel = this.channel(name);
    const now = Date.now();
    const key = options.idempotencyKey;
    if (key !== undefined) {
      this.forgetKeys(channel, now);
      const first = channel.keys.get(key);
      if (first !== undefined) return first.event;
    }
    const seq = ++this.seq;
    const stored = storedEvent(name, `${this.epoch}-${seq}`, event, options.serialized);
    const bytes = Number.isFinite(this.retention.maxBytes)
      ? Buffer.byteLength(serializeEvent(stored))
      : 0;
    channel.entries.push({ event: stored, seq, at: now, bytes });
    channel.bytes += bytes;
    channel.lastPublishAt = now;
    if (key !== undefined) {
      channel.keys.set(key, { event: stored, at: now });
      // The newest keys only: a burst of keyed publishes is bounded like the history is.
      if (channel.keys.size > this.retention.maxEvents) {
        channel.keys.delete(channel.keys.keys().next().value!);
      }
    }
    this.trim(channel, now);
    for (const listener of channel.listeners) listener(stored);
    return stored;
  }

  // Delivery is synchronous and never falls behind: there is no gap to report.
  subscribe(
    name: string,
    listener: (event: StoredEvent) => void,
    _onGap?: (reason: GapReason) => void,
  ): BrokerSubscription {
    const channel = this.channel(name);
    channel.listeners.add(listener);
    return {
      // Every event after the newest one now reaches the listener.
      ready: Promise.resolve(channel.entries.at(-1)?.event.id),
      unsubscribe: () => {
        channel.listeners.delete(listener);
        this.forgetIfEmpty(name, channel);
      },
    };
  }

  async readAfter(name: string, afterId: string | undefined, limit: number): Promise<HistoryPage> {
    const channel = this.channels.get(name);
    let after = 0;
    if (afterId !== undefined) {
      const seq = this.parse(afterId);
      if (seq === undefined || seq > this.seq) return { events: [], resumable: false };
      if (channel === undefined) return { events: [], resumable: seq >= this.expiredUpTo };
      if (seq < channel.trimmedUpTo) return { events: [], resumable: false };
      after = seq;
    }
    if (channel === undefined) return { events: [], resumable: true };
    // From the log's start: only if nothing of it was ever trimmed away.
    if (afterId === undefined && channel.trimmed) return { events: [], resumable: false };
    const entries = channel.entries;
    // Entries are in sequence order: find the first one after `after` by bisection.
    let low = 0;
    let high = entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (entries[mid]!.seq <= after) low = mid + 1;
      else high = mid;
    }
    return { events: entries.slice(low, low + limit).map((entry) => entry.event), resumable: true };
  }

  async latestId(name: string): Promise<string | undefined> {
    return this.channels.get(name)?.entries.at(-1)?.event.id;
  }

  compareIds(a: string, b: string): number {
    return (this.parse(a) ?? -1) - (this.parse(b) ?? -1);
  }

  async health(): Promise<BrokerHealth> {
    return { status: 'up', details: { broker: 'memory', channels: this.channels.size } };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.channels.clear();
  }

  private parse(id: string): number | undefined {
    const dash = id.lastIndexOf('-');
    if (dash === -1 || id.slice(0, dash) !== this.epoch) return undefined;
    const digits = id.slice(dash + 1);
    if (!/^\d{1,15}$/.test(digits)) return undefined;
    return Number(digits);
  }

  private channel(name: string): Channel {
    let channel = this.channels.get(name);
    if (channel === undefined) {
      // A channel forgotten while idle may be created again: ids from before cannot resume in it.
      channel = {
        entries: [],
        bytes: 0,
        trimmedUpTo: this.expiredUpTo,
        trimmed: false,
        lastPublishAt: Date.now(),
        listeners: new Set(),
        keys: new Map(),
      };
      this.channels.set(name, channel);
    }
    return channel;
  }

  private trim(channel: Channel, now: number): void {
    const { maxEvents, maxAgeMs, maxBytes } = this.retention;
    let drop = 0;
    const entries = channel.entries;
    while (
      drop < entries.length &&
      (entries.length - drop > maxEvents ||
        channel.bytes > maxBytes ||
        now - entries[drop]!.at > maxAgeMs)
    ) {
      channel.bytes -= entries[drop]!.bytes;
      channel.trimmedUpTo = entries[drop]!.seq;
      channel.trimmed = true;
      drop++;
    }
    if (drop > 0) channel.entries = entries.slice(drop);
  }

  /**
   * A channel that never held an event has nothing to resume from: its state goes with its
   * last subscriber (channels named by URL parameters would otherwise pile up until swept).
   */
  private forgetIfEmpty(name: string, channel: Channel): void {
    if (
      channel.listeners.size === 0 &&
      channel.entries.length === 0 &&
      !channel.trimmed &&
      channel.keys.size === 0 &&
      this.channels.get(name) === channel
    ) {
      this.channels.delete(name);
    }
  }

  private forgetKeys(channel: Channel, now: number): void {
    for (const [key, { at }] of channel.keys) {
      if (now - at <= this.retention.idempotencyWindowMs) break;
      channel.keys.delete(key);
    }
  }

  private sweep(now: number): void {
    for (const [name, channel] of this.channels) {
      this.trim(channel, now);
      this.forgetKeys(channel, now);
      if (
        channel.listeners.size === 0 &&
        now - channel.lastPublishAt > this.retention.idleChannelMs
      ) {
        const newest = channel.entries.at(-1)?.seq ?? channel.trimmedUpTo;
        this.expiredUpTo = Math.max(this.expiredUpTo, newest);
        this.channels.delete(name);
      }
    }
  }
}

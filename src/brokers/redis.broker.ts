import { Logger } from '@nestjs/common';
import type { Redis, RedisOptions } from 'ioredis';
import { BrokerUnavailableError } from '../errors/broker-unavailable.error.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import {
  type BrokerHealth,
  type BrokerSubscription,
  type HistoryPage,
  RETENTION_DEFAULTS,
  type RetentionOptions,
  type SseBroker,
  type StoredEvent,
} from './sse-broker.interface.js';

/** Options of {@link redisBroker}. */
export interface RedisBrokerOptions {
  /** A Redis URL (`redis://127.0.0.1:6379/0`), when no `client` is given. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /**
   * An ioredis client to publish and read history with; the broker duplicates it once for its
   * blocking reader, and leaves it open at shutdown (it is yours).
   */
  client?: Redis;
  /** Prefix of the Redis keys of channel logs. @default 'sse:' */
  keyPrefix?: string;
  retention?: RetentionOptions;
  /**
   * A publish that Redis does not answer within this long rejects with
   * `BrokerUnavailableError` (publishes never wait in ioredis' offline queue).
   * @default 2000
   */
  publishTimeoutMs?: number;
  /**
   * At start-up, wait for Redis (retrying) instead of failing `app.init()` at once.
   * @default false
   */
  waitForConnection?: boolean;
  /** How long the first connection may take before start-up fails. @default 5000 */
  connectTimeoutMs?: number;
}

interface ChannelState {
  readonly key: string;
  readonly listeners: Set<(event: StoredEvent) => void>;
  /** Id of the last event the reader delivered; where its next XREAD of this key starts. */
  lastId?: string;
  /** Resolved once `lastId` is known and the reader includes the key. */
  readonly ready: Promise<string | undefined>;
  /** Publishes of this process waiting for their event to be delivered here. */
  readonly pending: Array<{ id: string; resolve: () => void }>;
}

const ZERO_ID = '0-0';
/** Events of one XREAD reply fanned out per turn of the event loop. */
const DELIVER_PER_TURN = 4;
const LIVE_STATUSES = new Set(['connecting', 'connect', 'ready']);

interface StreamInfo {
  readonly lastGeneratedId: string;
  readonly length: number;
  /** Every entry ever added (Redis 7): more than `length` once anything was trimmed. */
  readonly entriesAdded: number;
}
const ID_PATTERN = /^(\d{1,16})-(\d{1,16})$/;

/**
 * A broker on Redis Streams, for several instances: each channel is a stream (`XADD` with
 * trimming holds its history, so replay works across instances and restarts); each instance
 * reads the channels its clients follow with one blocking `XREAD` from the last id it
 * delivered, so after a Redis outage it catches up what it missed instead of losing it, as
 * pub/sub would. Two connections per instance, however many channels and clients.
 *
 * @example
 * ```ts
 * SseModule.forRoot({ broker: redisBroker({ url: process.env.REDIS_URL, retention: { maxEvents: 5000 } }) })
 * ```
 */
export function redisBroker(options: RedisBrokerOptions = {}): SseBroker {
  return new RedisBroker(options);
}

class RedisBroker implements SseBroker {
  private readonly logger = new Logger('RedisBroker');
  private readonly retention: Required<RetentionOptions>;
  private readonly keyPrefix: string;
  private readonly publishTimeoutMs: number;
  private client?: Redis;
  private reader?: Redis;
  private readerId?: string;
  private ownsClient = false;
  private readonly channels = new Map<string, ChannelState>();
  private closed = false;
  private readerLoop?: Promise<void>;
  private wakeReader?: () => void;
  /** Bumped when the set of keys to read changes. */
  private keysVersion = 0;
  /** The `keysVersion` of the XREAD in flight; -1 when none is. */
  private readingVersion = -1;

  constructor(private readonly options: RedisBrokerOptions) {
    this.retention = { ...RETENTION_DEFAULTS, ...options.retention };
    this.keyPrefix = options.keyPrefix ?? 'sse:';
    this.publishTimeoutMs = options.publishTimeoutMs ?? 2000;
  }

  async connect(): Promise<void> {
    const { Redis: RedisClient } = await import('ioredis').catch((error: unknown) => {
      throw new BrokerUnavailableError(
        'redisBroker() needs the "ioredis" package: npm install ioredis',
        error,
      );
    });
    const common: RedisOptions = {
      lazyConnect: true,
      // Publishes fail at once while Redis is away, instead of piling up unseen.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    };
    const client =
      this.options.client ??
      new RedisClient(this.options.url ?? 'redis://127.0.0.1:6379', {
        ...common,
        commandTimeout: this.publishTimeoutMs,
      });
    this.client = client;
    this.ownsClient = this.options.client === undefined;
    // The reader blocks in XREAD: no command timeout, and it queues while reconnecting.
    this.reader = client.duplicate({
      ...common,
      enableOfflineQueue: true,
      commandTimeout: undefined,
      maxRetriesPerRequest: null,
    });
    client.on('error', (error: Error) => this.logger.warn(`Redis: ${error.message}`));
    this.reader.on('error', () => undefined);
    this.reader.on('ready', () => {
      this.readerId = undefined;
    });
    await Promise.all(
      [this.ownsClient ? client : undefined, this.reader].map((connection) =>
        connection === undefined || connection.status === 'ready'
          ? undefined
          : this.connectOne(connection),
      ),
    );
    this.readerLoop = this.readLoop();
  }

  async publish(channel: string, event: SseEvent): Promise<StoredEvent> {
    const client = this.requireClient();
    const key = this.keyPrefix + channel;
    const { maxEvents, maxAgeMs, idleChannelMs } = this.retention;
    let id: string;
    try {
      const results = await client
        .multi()
        .xadd(key, 'MAXLEN', '~', String(maxEvents), '*', 'e', JSON.stringify(event))
        .xtrim(key, 'MINID', '~', `${Math.max(0, Date.now() - maxAgeMs)}-0`)
        .pexpire(key, idleChannelMs)
        .exec();
      const [error, value] = results?.[0] ?? [new Error('empty reply')];
      if (error) throw error;
      id = value as string;
    } catch (error) {
      const message = (error as Error).message;
      throw new BrokerUnavailableError(
        /timed out/i.test(message)
          ? `Publishing to "${channel}": Redis did not answer within ${this.publishTimeoutMs} ms; ` +
              'the event may or may not be stored (a client resuming by Last-Event-ID sees it if it is).'
          : `Publishing to "${channel}" failed, nothing was stored: ${message}`,
        error,
      );
    }
    const stored = freeze(channel, id, event);
    await this.deliveredHere(channel, id);
    return stored;
  }

  subscribe(channel: string, listener: (event: StoredEvent) => void): BrokerSubscription {
    let state = this.channels.get(channel);
    if (state === undefined) {
      const key = this.keyPrefix + channel;
      const created: ChannelState = {
        key,
        listeners: new Set(),
        pending: [],
        ready: this.lastGeneratedId(key).then((id) => {
          created.lastId ??= id;
          // The reader may be blocked on the other keys: it starts again with this one.
          this.interruptRead();
          return id === ZERO_ID ? undefined : id;
        }),
      };
      state = created;
      this.channels.set(channel, state);
      this.interruptRead();
    }
    const current = state;
    current.listeners.add(listener);
    return {
      ready:
        current.lastId === undefined
          ? current.ready
          : Promise.resolve(current.lastId === ZERO_ID ? undefined : current.lastId),
      unsubscribe: () => {
        current.listeners.delete(listener);
        if (current.listeners.size === 0 && this.channels.get(channel) === current) {
          this.channels.delete(channel);
          for (const waiter of current.pending.splice(0)) waiter.resolve();
        }
      },
    };
  }

  async readAfter(
    channel: string,
    afterId: string | undefined,
    limit: number,
  ): Promise<HistoryPage> {
    const client = this.requireClient();
    const key = this.keyPrefix + channel;
    if (afterId !== undefined && !ID_PATTERN.test(afterId)) return { events: [], resumable: false };
    const info = await this.streamInfo(key);
    if (info === undefined) {
      // No such stream: never written, or expired while idle. An id cannot resume in it.
      return { events: [], resumable: afterId === undefined };
    }
    const from = afterId ?? ZERO_ID;
    if (!(await this.resumableFrom(key, from, info))) {
      return { events: [], resumable: false };
    }
    const entries = (await client.xrange(key, `(${from}`, '+', 'COUNT', limit)) as Array<
      [string, string[]]
    >;
    return {
      events: entries.map(([id, fields]) => this.toEvent(channel, id, fields)),
      resumable: true,
    };
  }

  async latestId(channel: string): Promise<string | undefined> {
    const id = await this.lastGeneratedId(this.keyPrefix + channel);
    return id === ZERO_ID ? undefined : id;
  }

  compareIds(a: string, b: string): number {
    const left = ID_PATTERN.exec(a);
    const right = ID_PATTERN.exec(b);
    if (left === null || right === null) return left === null ? (right === null ? 0 : -1) : 1;
    return Number(left[1]) - Number(right[1]) || Number(left[2]) - Number(right[2]);
  }

  async health(): Promise<BrokerHealth> {
    const client = this.client?.status ?? 'not connected';
    const reader = this.reader?.status ?? 'not connected';
    const status =
      this.closed || this.client === undefined
        ? 'down'
        : client === 'ready' && reader === 'ready'
          ? 'up'
          : 'degraded';
    return { status, details: { broker: 'redis', client, reader } };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.interruptRead();
    // Only a connection with a socket ends with an 'end' event: one that waits to reconnect
    // (Redis is down) just stops retrying. Its pending XREAD is never settled, so the reader
    // loop is not awaited either; it holds no handle.
    const ended = [this.reader, this.ownsClient ? this.client : undefined]
      .filter((c): c is Redis => c !== undefined && LIVE_STATUSES.has(c.status))
      .map((c) => new Promise<void>((resolve) => c.once('end', () => resolve())));
    this.reader?.disconnect();
    if (this.ownsClient) {
      await this.client?.quit().catch(() => this.client?.disconnect());
    }
    // quit() resolves on Redis's OK, before the socket is closed.
    await Promise.all(ended);
    for (const state of this.channels.values()) {
      for (const waiter of state.pending.splice(0)) waiter.resolve();
    }
    this.channels.clear();
  }

  // --- internals ---------------------------------------------------------------------------

  private async connectOne(connection: Redis): Promise<void> {
    if (this.options.waitForConnection) {
      await new Promise<void>((resolve) => {
        connection.once('ready', () => resolve());
        connection.connect().catch(() => undefined);
      });
      return;
    }
    const timeoutMs = this.options.connectTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    // connect() rejects with "Connection is closed"; the socket's own error says why.
    let cause: Error | undefined;
    const onError = (error: Error) => {
      cause = error;
    };
    connection.on('error', onError);
    try {
      await Promise.race([
        connection.connect(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      connection.disconnect();
      throw new BrokerUnavailableError(
        `Redis at ${this.options.url ?? 'redis://127.0.0.1:6379'} is unreachable (${(cause ?? (error as Error)).message}). ` +
          'Start Redis, fix the URL, or set waitForConnection: true to wait for it.',
        error,
      );
    } finally {
      clearTimeout(timer);
      connection.off('error', onError);
    }
  }

  private requireClient(): Redis {
    if (this.client === undefined || this.closed) {
      throw new BrokerUnavailableError(
        'The Redis broker is not connected (the application is not initialised, or closed).',
      );
    }
    return this.client;
  }

  private async readLoop(): Promise<void> {
    const reader = this.reader!;
    while (!this.closed) {
      const version = this.keysVersion;
      const active = [...this.channels.entries()].filter(([, state]) => state.lastId !== undefined);
      if (active.length === 0) {
        await new Promise<void>((resolve) => {
          this.wakeReader = resolve;
        });
        this.wakeReader = undefined;
        continue;
      }
      try {
        this.readerId ??= String(await reader.client('ID'));
        this.readingVersion = version;
        const reply = (await reader.xread(
          'COUNT',
          1000,
          'BLOCK',
          5000,
          'STREAMS',
          ...active.map(([, state]) => state.key),
          ...active.map(([, state]) => state.lastId!),
        )) as Array<[string, Array<[string, string[]]>]> | null;
        this.readingVersion = -1;
        if (reply !== null) await this.deliver(reply);
      } catch (error) {
        this.readingVersion = -1;
        if (this.closed) return;
        // Connection lost: ioredis reconnects; reading again from the last delivered ids
        // catches up what was published meanwhile.
        this.logger.warn(
          `Redis reader: ${(error as Error).message}; resuming from the last delivered ids`,
        );
        await new Promise<void>((resolve) => {
          const retry = setTimeout(resolve, 200);
          retry.unref();
        });
      }
    }
  }

  private async deliver(reply: Array<[string, Array<[string, string[]]>]>): Promise<void> {
    let sinceYield = 0;
    for (const [key, entries] of reply) {
      const channel = key.slice(this.keyPrefix.length);
      for (const [id, fields] of entries) {
        // A reply can hold many events (the reader catching up): the sockets get each one's
        // bytes before the next is fanned out, instead of all of them after the whole reply.
        if (sinceYield++ === DELIVER_PER_TURN) {
          sinceYield = 1;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        const state = this.channels.get(channel);
        if (state === undefined || state.key !== key) break;
        if (state.lastId !== undefined && this.compareIds(id, state.lastId) <= 0) continue;
        state.lastId = id;
        const event = this.toEvent(channel, id, fields);
        for (const listener of state.listeners) listener(event);
        this.settlePending(state, id);
      }
    }
  }

  private settlePending(state: ChannelState, delivered: string): void {
    for (let i = state.pending.length - 1; i >= 0; i--) {
      if (this.compareIds(state.pending[i]!.id, delivered) <= 0) {
        state.pending[i]!.resolve();
        state.pending.splice(i, 1);
      }
    }
  }

  /** Waits (within the publish timeout) until this process's subscribers got the event. */
  private deliveredHere(channel: string, id: string): Promise<void> {
    const state = this.channels.get(channel);
    if (
      state === undefined ||
      (state.lastId !== undefined && this.compareIds(id, state.lastId) <= 0)
    ) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      // Stored is what matters: past the timeout (the reader cut off by an outage) it resolves,
      // and the reader delivers the event when Redis is back.
      const timer = setTimeout(done, this.publishTimeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      state.pending.push({ id, resolve: done });
    });
  }

  /** Makes the reader start again with the current keys, if it reads with older ones. */
  private interruptRead(): void {
    this.keysVersion++;
    this.wakeReader?.();
    void this.unblockStaleRead();
  }

  private async unblockStaleRead(): Promise<void> {
    // An UNBLOCK that reaches Redis just before the XREAD does is lost (it answers 0): try
    // again until the read in flight is one with the current keys.
    for (let attempt = 0; attempt < 100 && !this.closed; attempt++) {
      if (this.readingVersion === -1 || this.readingVersion === this.keysVersion) return;
      if (this.readerId !== undefined && this.client?.status === 'ready') {
        const unblocked = await this.client.client('UNBLOCK', this.readerId).catch(() => 0);
        if (unblocked === 1) return;
      }
      await new Promise<void>((resolve) => setTimeout(resolve, 5).unref());
    }
  }

  /**
   * A client's position can be resumed from when its own entry is still in the stream:
   * trimming removes the oldest entries, so everything after it is there too. (The newest id
   * is a position even once trimmed: nothing comes after it.) An id whose entry is not there
   * is not resumed from — trimmed away, or from another store, even one that looks like a
   * Redis id — although nothing newer may have been trimmed: Redis does not record which ids
   * trimming removed (`max-deleted-entry-id` is XDEL's only). With no position at all, the
   * whole stream is a resume only if nothing was ever removed from it.
   */
  private async resumableFrom(key: string, from: string, info: StreamInfo): Promise<boolean> {
    if (from === ZERO_ID) return info.entriesAdded === info.length;
    const newest = this.compareIds(from, info.lastGeneratedId);
    if (newest >= 0) return newest === 0;
    const own = await this.requireClient().xrange(key, from, from);
    return own.length === 1;
  }

  private async lastGeneratedId(key: string): Promise<string> {
    const info = await this.streamInfo(key);
    return info?.lastGeneratedId ?? ZERO_ID;
  }

  private async streamInfo(key: string): Promise<StreamInfo | undefined> {
    let reply: unknown[];
    try {
      reply = (await this.requireClient().xinfo('STREAM', key)) as unknown[];
    } catch (error) {
      if (/no such key/i.test((error as Error).message)) return undefined;
      throw new BrokerUnavailableError(
        `Reading "${key}" from Redis failed: ${(error as Error).message}`,
        error,
      );
    }
    const field = (name: string) => reply[reply.indexOf(name) + 1] as string | number | undefined;
    return {
      lastGeneratedId: String(field('last-generated-id') ?? ZERO_ID),
      length: Number(field('length') ?? 0),
      entriesAdded: Number(field('entries-added') ?? 0),
    };
  }

  private toEvent(channel: string, id: string, fields: string[]): StoredEvent {
    const raw = fields[fields.indexOf('e') + 1] ?? '{}';
    return freeze(channel, id, JSON.parse(raw) as SseEvent);
  }
}

function freeze(channel: string, id: string, event: SseEvent): StoredEvent {
  return Object.freeze({ ...event, id, channel });
}

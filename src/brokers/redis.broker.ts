import { Logger } from '@nestjs/common';
import { BrokerUnavailableError } from '../errors/broker-unavailable.error.js';
import { InvalidChannelError } from '../errors/invalid-channel.error.js';
import { InvalidOptionError } from '../errors/invalid-option.error.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import { partitionTags } from './cluster-partitions.js';
import type { RedisClientLike, RedisPipelineLike } from './redis-client.interface.js';
import { decodeEntry, encodeEntry } from './redis-entry.js';
import { type FeedEntry, RedisFeedReader } from './redis-feed-reader.js';
import { type PublishReply, runPublishScript } from './redis-publish.script.js';
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

/** Options of {@link redisBroker}. */
export interface RedisBrokerOptions {
  /** A Redis URL (`redis://127.0.0.1:6379/0`), when no `client` is given. @default 'redis://127.0.0.1:6379' */
  url?: string;
  /**
   * An ioredis client to publish and read history with; the broker duplicates it once for its
   * blocking reader, and leaves it open at shutdown (it is yours).
   */
  client?: RedisClientLike;
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
  /**
   * Entries kept in the live feed (the one stream every instance reads, whatever the number of
   * channels). An instance whose reader falls behind by more than this (stalled, cut off)
   * tells the streams that missed events, which resume from their channel's history or get a
   * `reset`.
   * @default 10000
   */
  feedMaxEvents?: number;
  /**
   * A Redis Cluster instead of one Redis (`url`/`client` are then not used): see
   * {@link RedisClusterOptions}.
   */
  cluster?: RedisClusterOptions;
}

/** How {@link redisBroker} runs on a Redis Cluster. */
export interface RedisClusterOptions {
  /** Some of the cluster's nodes; the others are found from them. */
  nodes: ReadonlyArray<{ host: string; port: number }>;
  /**
   * Live feeds the channels are spread over, each in one hash slot with the streams of its
   * channels (so that a publish is one script on one node), and each read by one reader of every
   * instance. Every instance of a deployment must use the same number.
   * @default 8
   */
  partitions?: number;
  /**
   * Replicas that must have a publish before it resolves (`WAIT`, in the same round trip): a
   * failover then loses no acknowledged event. 0 acknowledges on the master alone.
   * @default 1
   */
  replicasToAck?: number;
}

/** One live feed, with its reader and the channel positions it looks up per tick. */
interface Partition {
  readonly feedKey: string;
  /** The hash tag of its keys, in cluster mode: every key of the partition is in one slot. */
  readonly tag?: string;
  connection?: RedisClientLike;
  reader?: RedisFeedReader;
  lookups: Array<{ key: string; settle: (id: Promise<string>) => void }>;
}

interface ChannelState {
  readonly channel: string;
  readonly key: string;
  readonly partition: Partition;
  /** Each listener, with what to call when it missed events. */
  readonly listeners: Map<(event: StoredEvent) => void, ((reason: GapReason) => void) | undefined>;
  /** Id of the last event delivered; undefined until the channel's position is known. */
  lastId?: string;
  /** Feed entries read before the position was known, sorted out once it is. */
  early: FeedEntry[];
  /** Whether more entries arrived early than are kept: its listeners missed some. */
  earlyOverflow: boolean;
  readonly ready: Promise<string | undefined>;
  /** Publishes of this process waiting for their event to be delivered here. */
  readonly pending: Array<{ id: string; resolve: () => void }>;
}

const ZERO_ID = '0-0';
/** Events fanned out per turn of the event loop while the reader catches up. */
const DELIVER_PER_TURN = 4;
/** Feed entries kept for a channel whose position is being looked up. */
const EARLY_LIMIT = 1000;
const LIVE_STATUSES = new Set(['connecting', 'connect', 'ready']);
/** How long `health()` waits for Redis to answer. */
const HEALTH_TIMEOUT_MS = 1000;
/** A reader whose oldest unread entry is older than this is lagging (`degraded`). */
const LAG_DEGRADED_MS = 2000;
/** What `publish` says of a Redis out of memory, instead of its terse error. */
const OOM = /\bOOM\b|maxmemory/i;

interface StreamInfo {
  readonly lastGeneratedId: string;
  readonly length: number;
  /** Every entry ever added (Redis 7): more than `length` once anything was trimmed. */
  readonly entriesAdded: number;
  /** The id of the oldest entry still there. */
  readonly firstEntryId?: string;
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
  private readonly partitions: Partition[];
  private readonly publishTimeoutMs: number;
  private readonly feedMaxEvents: number;
  private readonly idempotencyWindowMs: number;
  private client?: RedisClientLike;
  private ownsClient = false;
  private readonly channels = new Map<string, ChannelState>();
  private closed = false;

  constructor(private readonly options: RedisBrokerOptions) {
    this.retention = { ...RETENTION_DEFAULTS, ...options.retention };
    this.keyPrefix = options.keyPrefix ?? 'sse:';
    const cluster = options.cluster;
    if (cluster === undefined) {
      // The prefix itself is no channel's key (a channel is never empty): the feed cannot clash.
      this.partitions = [{ feedKey: this.keyPrefix, lookups: [] }];
    } else {
      if (/[{}]/.test(this.keyPrefix)) {
        throw new InvalidChannelError(
          `keyPrefix "${this.keyPrefix}": no braces on a Redis Cluster (the broker sets the hash tags)`,
        );
      }
      const count = cluster.partitions ?? 8;
      if (!Number.isInteger(count) || count < 1 || count > 1024) {
        throw new InvalidOptionError(
          'redisBroker()',
          'cluster.partitions',
          'an integer from 1 to 1024',
          count,
        );
      }
      this.partitions = partitionTags(this.keyPrefix, count).map((tag) => ({
        feedKey: tag,
        tag,
        lookups: [],
      }));
    }
    this.publishTimeoutMs = options.publishTimeoutMs ?? 2000;
    this.feedMaxEvents = options.feedMaxEvents ?? 10_000;
    // One window for every broker: `retention.idempotencyWindowMs`.
    this.idempotencyWindowMs = this.retention.idempotencyWindowMs;
  }

  async connect(): Promise<void> {
    const ioredis = await import('ioredis').catch((error: unknown) => {
      throw new BrokerUnavailableError(
        'redisBroker() needs the "ioredis" package: npm install ioredis',
        error,
      );
    });
    const common = {
      lazyConnect: true,
      // Publishes fail at once while Redis is away, instead of piling up unseen.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 2000),
    };
    const publisherOptions = {
      ...common,
      commandTimeout: this.publishTimeoutMs,
      // A command whose reply was lost has an unknown outcome: never sent twice behind the
      // caller's back (a retry with an idempotency key is the safe way).
      autoResendUnfulfilledCommands: false,
    };
    // A reader blocks in XREAD: no command timeout, and it queues while reconnecting.
    const readerOptions = {
      ...common,
      enableOfflineQueue: true,
      commandTimeout: undefined,
      maxRetriesPerRequest: null,
      autoResendUnfulfilledCommands: true,
    };
    const cluster = this.options.cluster;
    const clusterClient = (
      redisOptions: Record<string, unknown>,
      offlineQueue: boolean,
      scaleReads: 'master' | 'slave' = 'master',
    ) =>
      new ioredis.Cluster([...cluster!.nodes], {
        lazyConnect: true,
        enableOfflineQueue: offlineQueue,
        scaleReads,
        redisOptions,
        clusterRetryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 2000),
        // A failover takes the cluster a node timeout or so: commands wait for it.
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 200,
        retryDelayOnTryAgain: 100,
      }) as unknown as RedisClientLike;
    const client: RedisClientLike =
      cluster !== undefined
        ? clusterClient(publisherOptions, false)
        : (this.options.client ??
          new ioredis.Redis(this.options.url ?? 'redis://127.0.0.1:6379', publisherOptions));
    this.client = client;
    this.ownsClient = this.options.client === undefined || cluster !== undefined;
    client.on('error', (error: Error) => this.logger.warn(`Redis: ${error.message}`));
    for (const partition of this.partitions) {
      // On a cluster, readers read replicas: what they deliver survives a failover (a write
      // that reached the master alone may be lost with it, and must not have been sent).
      partition.connection =
        cluster !== undefined
          ? clusterClient(readerOptions, true, 'slave')
          : client.duplicate(readerOptions);
      partition.connection.on('error', () => undefined);
    }
    await Promise.all(
      [this.ownsClient ? client : undefined, ...this.partitions.map((p) => p.connection)].map(
        (connection) =>
          connection === undefined || connection.status === 'ready'
            ? undefined
            : this.connectOne(connection),
      ),
    );
    await Promise.all(
      this.partitions.map((partition) => {
        partition.reader = new RedisFeedReader(
          partition.connection!,
          partition.feedKey,
          (entries, gapBefore) => this.deliver(partition, entries, gapBefore),
          this.logger,
        );
        return partition.reader.start(client);
      }),
    );
  }

  async publish(
    channel: string,
    event: SseEvent,
    options: PublishOptions = {},
  ): Promise<StoredEvent> {
    const client = this.requireClient();
    assertChannel(channel);
    // A client of the user's may queue offline: a publish never waits there, unseen.
    if (client.status !== 'ready') {
      throw new BrokerUnavailableError(
        `Publishing to "${channel}" failed, nothing was stored: Redis is not connected ` +
          `(${client.status}). Retry once it is back (health() says when).`,
      );
    }
    const partition = this.partitionOf(channel);
    const key = this.channelKey(channel, partition);
    const { maxEvents, maxAgeMs, idleChannelMs } = this.retention;
    // Refused here, before anything is stored, when a field cannot be sent.
    const entry = encodeEntry(event, options.serialized);
    const keys = [key, partition.feedKey];
    if (options.idempotencyKey !== undefined) {
      keys.push(
        `${partition.tag ?? this.keyPrefix}\u0000idem\u0000${channel}\u0000${options.idempotencyKey}`,
      );
    }
    let reply: PublishReply;
    try {
      reply = await this.withTimeout(
        runPublishScript(
          client,
          keys,
          [
            entry,
            maxEvents,
            `${Math.max(0, Date.now() - maxAgeMs)}-0`,
            idleChannelMs,
            this.feedMaxEvents,
            channel,
            this.idempotencyWindowMs,
          ],
          this.replicasToAck(),
        ),
      );
    } catch (error) {
      throw this.publishError(channel, error, options.idempotencyKey !== undefined);
    }
    const stored = decodeEntry(channel, reply.id, reply.firstEntry ?? entry);
    await this.deliveredHere(channel, reply.id);
    return stored;
  }

  subscribe(
    channel: string,
    listener: (event: StoredEvent) => void,
    onGap?: (reason: GapReason) => void,
  ): BrokerSubscription {
    assertChannel(channel);
    let state = this.channels.get(channel);
    if (state === undefined) {
      const partition = this.partitionOf(channel);
      const key = this.channelKey(channel, partition);
      const created: ChannelState = {
        channel,
        key,
        partition,
        listeners: new Map(),
        pending: [],
        early: [],
        earlyOverflow: false,
        ready: this.lookUpPosition(partition, key).then((id) => {
          this.positionKnown(created, id);
          return id === ZERO_ID ? undefined : id;
        }),
      };
      // Not awaited by anyone when every listener leaves first.
      created.ready.catch(() => undefined);
      state = created;
      this.channels.set(channel, state);
    }
    const current = state;
    current.listeners.set(listener, onGap);
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
    const key = this.channelKey(channel);
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
    const entries = (await client.call('XRANGE', key, `(${from}`, '+', 'COUNT', limit)) as Array<
      [string, string[]]
    >;
    return {
      events: entries.map(([id, fields]) =>
        decodeEntry(channel, id, fields[fields.indexOf('e') + 1] ?? '{}'),
      ),
      resumable: true,
    };
  }

  async latestId(channel: string): Promise<string | undefined> {
    const id = await this.lastGeneratedId(this.channelKey(channel));
    return id === ZERO_ID ? undefined : id;
  }

  compareIds(a: string, b: string): number {
    const left = ID_PATTERN.exec(a);
    const right = ID_PATTERN.exec(b);
    if (left === null || right === null) return left === null ? (right === null ? 0 : -1) : 1;
    return Number(left[1]) - Number(right[1]) || Number(left[2]) - Number(right[2]);
  }

  async health(options: { signal?: AbortSignal } = {}): Promise<BrokerHealth> {
    const client = this.client?.status ?? 'not connected';
    const readers = this.partitions.map((p) => p.connection?.status ?? 'not connected');
    const reader = readers.every((r) => r === readers[0]) ? readers[0]! : readers.join(',');
    const details: Record<string, unknown> = { broker: 'redis', client, reader };
    if (this.closed || this.client === undefined || client !== 'ready') {
      return { status: 'down', details };
    }
    let lagMs = 0;
    try {
      for (const partition of this.partitions) {
        if (partition.reader === undefined) return { status: 'down', details };
        const lag = await this.readerLag(this.client, partition, options.signal);
        lagMs = Math.max(lagMs, lag);
      }
    } catch (error) {
      return { status: 'down', details: { ...details, error: (error as Error).message } };
    }
    details.readerLagMs = lagMs;
    const status = reader === 'ready' && lagMs <= LAG_DEGRADED_MS ? 'up' : 'degraded';
    return { status, details };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const partition of this.partitions) partition.reader?.stop();
    // Only a connection with a socket ends with an 'end' event: one that waits to reconnect
    // (Redis is down) just stops retrying. Its pending XREAD is never settled, so the reader
    // loop is not awaited either; it holds no handle.
    const readers = this.partitions.map((p) => p.connection);
    const ended = [...readers, this.ownsClient ? this.client : undefined]
      .filter((c): c is RedisClientLike => c !== undefined && LIVE_STATUSES.has(c.status))
      .map((c) => new Promise<void>((resolve) => c.once('end', () => resolve())));
    for (const connection of readers) connection?.disconnect();
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

  private async connectOne(connection: RedisClientLike): Promise<void> {
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

  /** Which feed a channel is on: a hash of its name, the same on every instance. */
  private partitionOf(channel: string): Partition {
    if (this.partitions.length === 1) return this.partitions[0]!;
    let hash = 0x811c9dc5;
    for (let i = 0; i < channel.length; i++) {
      hash = Math.imul(hash ^ channel.charCodeAt(i), 0x01000193);
    }
    return this.partitions[(hash >>> 0) % this.partitions.length]!;
  }

  /** The key of a channel's stream: in its partition's slot on a cluster. */
  private channelKey(channel: string, partition = this.partitionOf(channel)): string {
    return (partition.tag ?? this.keyPrefix) + channel;
  }

  private replicasToAck(): { count: number; timeoutMs: number } | undefined {
    const count = this.options.cluster?.replicasToAck ?? (this.options.cluster ? 1 : 0);
    return count > 0 ? { count, timeoutMs: this.publishTimeoutMs } : undefined;
  }

  private requireClient(): RedisClientLike {
    if (this.client === undefined || this.closed) {
      throw new BrokerUnavailableError(
        'The Redis broker is not connected (the application is not initialised, or closed).',
      );
    }
    return this.client;
  }

  /**
   * Rejects after `publishTimeoutMs`, whatever the client's own settings: a client of the
   * user's may have no command timeout.
   */
  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('Command timed out')), this.publishTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  private publishError(channel: string, error: unknown, idempotent: boolean): Error {
    const message = (error as Error).message;
    if (/timed out/i.test(message)) {
      return new BrokerUnavailableError(
        `Publishing to "${channel}": Redis did not answer within ${this.publishTimeoutMs} ms; ` +
          'the event may or may not be stored (a client resuming by Last-Event-ID sees it if it is). ' +
          (idempotent
            ? 'Retrying with the same idempotencyKey stores it at most once.'
            : 'Publish with an idempotencyKey to make a retry safe.'),
        error,
      );
    }
    if (OOM.test(message) || /EXECABORT/.test(message)) {
      return new BrokerUnavailableError(
        `Publishing to "${channel}" failed, nothing was stored: Redis is out of memory (it reached ` +
          'its maxmemory, and its policy, such as noeviction, evicts nothing). Raise maxmemory, ' +
          `lower the retention, or free memory in Redis. (${message})`,
        error,
      );
    }
    return new BrokerUnavailableError(
      `Publishing to "${channel}" failed, nothing was stored: ${message}`,
      error,
    );
  }

  /**
   * The last id of a channel's stream, looked up with every other channel subscribed in the same
   * turn of the event loop: one pipeline, one round trip, however many channels are joined.
   */
  private lookUpPosition(partition: Partition, key: string): Promise<string> {
    return new Promise<Promise<string>>((settle) => {
      if (partition.lookups.length === 0) setImmediate(() => this.runLookups(partition));
      partition.lookups.push({ key, settle });
    }).then((id) => id);
  }

  /** One pipeline per partition: on a cluster, a pipeline's keys must be in one slot. */
  private runLookups(partition: Partition): void {
    const batch = partition.lookups;
    partition.lookups = [];
    let pipeline: RedisPipelineLike;
    try {
      pipeline = this.requireClient().pipeline();
    } catch (error) {
      for (const lookup of batch) lookup.settle(Promise.reject(error));
      return;
    }
    // The newest entry is the stream's last id: trimming never removes it, and nothing here
    // deletes entries. (XINFO would answer an error, with its stack, for every new channel.)
    for (const { key } of batch) pipeline.call('XREVRANGE', key, '+', '-', 'COUNT', 1);
    const replies = pipeline.exec();
    batch.forEach(({ key, settle }, i) =>
      settle(
        replies.then(
          (all) => {
            const [error, reply] = all?.[i] ?? [new Error('no reply')];
            if (error) throw this.readError(key, error);
            return (reply as Array<[string]>)[0]?.[0] ?? ZERO_ID;
          },
          (error: unknown) => {
            throw this.readError(key, error);
          },
        ),
      ),
    );
  }

  /** Delivers what arrived before the channel's position was known, after that position. */
  private positionKnown(state: ChannelState, id: string): void {
    state.lastId ??= id;
    const early = state.early;
    state.early = [];
    if (state.earlyOverflow) {
      state.earlyOverflow = false;
      this.reportGap(state);
    }
    for (const entry of early) this.deliverEntry(state, entry);
  }

  private async deliver(
    partition: Partition,
    entries: readonly FeedEntry[],
    gapBefore: boolean,
  ): Promise<void> {
    if (gapBefore) await this.findGaps(partition, entries);
    let sinceYield = 0;
    for (const entry of entries) {
      const state = this.channels.get(entry.channel);
      if (state === undefined) continue;
      // A reply can hold many events (the reader catching up): the sockets get each one's
      // bytes before the next is fanned out, instead of all of them after the whole reply.
      if (sinceYield++ === DELIVER_PER_TURN) {
        sinceYield = 1;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (this.channels.get(entry.channel) === state) this.deliverEntry(state, entry);
    }
  }

  private deliverEntry(state: ChannelState, entry: FeedEntry): void {
    if (state.lastId === undefined) {
      if (state.early.length < EARLY_LIMIT) state.early.push(entry);
      else state.earlyOverflow = true;
      return;
    }
    if (this.compareIds(entry.id, state.lastId) <= 0) return;
    state.lastId = entry.id;
    const event = decodeEntry(entry.channel, entry.id, entry.entry);
    for (const listener of state.listeners.keys()) listener(event);
    this.settlePending(state, entry.id);
  }

  /**
   * The feed lost entries this reader never read. A followed channel lost none only if Redis
   * shows it: nothing was trimmed from its stream after the last event delivered (trimming
   * removes the oldest first, so its first entry is not newer than that one; from no position,
   * nothing was ever trimmed), and the stream holds none between that event and the first the
   * reader reads now. Every other channel's listeners are told before any newer event reaches
   * them, so that they resume from their own position (the channel's history may still hold
   * what the feed lost) or tell their client of the gap. One pipeline, only when this happens.
   */
  private async findGaps(partition: Partition, entries: readonly FeedEntry[]): Promise<void> {
    const firstSeen = new Map<string, string>();
    for (const entry of entries) {
      if (!firstSeen.has(entry.channel)) firstSeen.set(entry.channel, entry.id);
    }
    const followed = [...this.channels.values()].filter(
      (state) => state.partition === partition && state.lastId !== undefined,
    );
    if (followed.length === 0) return;
    let missed: boolean[];
    try {
      const pipeline = this.requireClient().pipeline();
      for (const state of followed) {
        const until = firstSeen.get(state.channel);
        pipeline.call('XINFO', 'STREAM', state.key);
        pipeline.call(
          'XRANGE',
          state.key,
          `(${state.lastId}`,
          until ? `(${until}` : '+',
          'COUNT',
          1,
        );
      }
      const replies = (await pipeline.exec()) ?? [];
      missed = followed.map((state, i) => {
        const [infoError, info] = replies[2 * i] ?? [new Error('no reply')];
        const [rangeError, between] = replies[2 * i + 1] ?? [new Error('no reply')];
        if (infoError !== null) return !/no such key/i.test(infoError.message);
        if (rangeError !== null || (between as unknown[]).length > 0) return true;
        const stream = parseStreamInfo(info as unknown[]);
        return state.lastId === ZERO_ID
          ? stream.entriesAdded > stream.length
          : stream.firstEntryId !== undefined &&
              this.compareIds(stream.firstEntryId, state.lastId!) > 0;
      });
    } catch {
      // Cannot tell: every followed channel may have missed events.
      missed = followed.map(() => true);
    }
    followed.forEach((state, i) => {
      if (missed[i]) this.reportGap(state);
    });
  }

  private reportGap(state: ChannelState): void {
    const channel = state.channel;
    const unheard = [...state.listeners.values()].filter((onGap) => onGap === undefined).length;
    if (unheard > 0) {
      this.logger.warn(
        `Redis reader fell behind the live feed's retention: ${unheard} listener(s) of "${channel}" ` +
          'missed events (raise feedMaxEvents)',
      );
    }
    for (const onGap of state.listeners.values()) onGap?.('history-gap');
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

  /** How long the oldest feed entry the reader has not read yet has waited, in Redis's time. */
  private async readerLag(
    client: RedisClientLike,
    partition: Partition,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    signal?.throwIfAborted();
    // On a cluster, the keyed command routes the pipeline to the feed's node: its TIME.
    const pipeline = client.pipeline();
    pipeline.call('XRANGE', partition.feedKey, `(${partition.reader!.position}`, '+', 'COUNT', 1);
    pipeline.call('TIME');
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const replies = await Promise.race([
        pipeline.exec(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Redis did not answer within ${HEALTH_TIMEOUT_MS} ms`)),
            HEALTH_TIMEOUT_MS,
          );
          onAbort = () => reject(signal!.reason as Error);
          signal?.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
      const [rangeError, unread] = replies?.[0] ?? [new Error('no reply')];
      const [timeError, time] = replies?.[1] ?? [new Error('no reply')];
      if (timeError ?? rangeError) throw (timeError ?? rangeError)!;
      const [seconds, micros] = time as [string, string];
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      const oldest = (unread as Array<[string, string[]]>)[0]?.[0];
      return oldest === undefined ? 0 : Math.max(0, now - Number(oldest.split('-')[0]));
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
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
    const own = (await this.requireClient().call('XRANGE', key, from, from)) as unknown[];
    return own.length === 1;
  }

  private async lastGeneratedId(key: string): Promise<string> {
    const info = await this.streamInfo(key);
    return info?.lastGeneratedId ?? ZERO_ID;
  }

  private async streamInfo(key: string): Promise<StreamInfo | undefined> {
    let reply: unknown[];
    try {
      reply = (await this.requireClient().call('XINFO', 'STREAM', key)) as unknown[];
    } catch (error) {
      if (/no such key/i.test((error as Error).message)) return undefined;
      throw this.readError(key, error);
    }
    return parseStreamInfo(reply);
  }

  private readError(key: string, error: unknown): BrokerUnavailableError {
    return new BrokerUnavailableError(
      `Reading "${key}" from Redis failed: ${(error as Error).message}`,
      error,
    );
  }
}

function parseStreamInfo(reply: unknown[]): StreamInfo {
  const field = (name: string) => reply[reply.indexOf(name) + 1] as string | number | undefined;
  return {
    lastGeneratedId: String(field('last-generated-id') ?? ZERO_ID),
    length: Number(field('length') ?? 0),
    entriesAdded: Number(field('entries-added') ?? 0),
    firstEntryId: (field('first-entry') as unknown as [string] | null | undefined)?.[0],
  };
}

function assertChannel(channel: string): void {
  if (channel.length === 0) {
    throw new InvalidChannelError('a channel is a non-empty string');
  }
}

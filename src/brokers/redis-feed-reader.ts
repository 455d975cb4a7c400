import type { Logger } from '@nestjs/common';
import type { RedisClientLike } from './redis-client.interface.js';

/** One entry of the live feed: an event of some channel, as the publish script appended it. */
export interface FeedEntry {
  /** The entry's id in the feed (the reader's position once read). */
  readonly feedId: string;
  readonly channel: string;
  /** The event's id in its channel's stream: what clients see and resume from. */
  readonly id: string;
  /** The event as the broker stores it (see `encodeEntry`). */
  readonly entry: string;
}

/**
 * What the reader hands over: a run of consecutive feed entries; `gapBefore` when entries the
 * reader never read were trimmed from the feed just before the first one (it fell behind by
 * more than the feed holds, or the feed expired or was lost while it was away).
 */
export type FeedHandler = (entries: readonly FeedEntry[], gapBefore: boolean) => Promise<void>;

const ZERO_ID = '0-0';
/** Entries one XREAD returns at most. */
const READ_COUNT = 1000;
/** How long one XREAD waits for a publish; the reader reads again at once after. */
const BLOCK_MS = 5000;
/** After a failed read (connection lost), before the next; ioredis reconnects meanwhile. */
const RETRY_MS = 200;

/**
 * The one blocking reader of an instance: an `XREAD` of the feed every publish of the key prefix
 * is appended to, whatever the number of channels followed, so that following a new channel
 * costs no Redis command of the reader's (the broker filters the entries of channels it has no
 * listener for). It reads on from its position after an outage, so it catches up what was
 * published meanwhile, and says so when the feed no longer holds all of it.
 */
export class RedisFeedReader {
  /** The id of the last feed entry read. */
  position = ZERO_ID;
  /** The sequence number of that entry (0: the feed was empty). */
  private lastN = 0;
  private stopped = false;

  constructor(
    private readonly connection: RedisClientLike,
    private readonly feedKey: string,
    private readonly handle: FeedHandler,
    private readonly logger: Logger,
  ) {}

  /** Starts at the feed's newest entry, as `publisher` sees it now. */
  async start(publisher: RedisClientLike): Promise<void> {
    const last = (await publisher.call('XREVRANGE', this.feedKey, '+', '-', 'COUNT', 1)) as Array<
      [string, string[]]
    >;
    if (last[0] !== undefined) {
      this.position = last[0][0];
      this.lastN = Number(field(last[0][1], 'n'));
    }
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let reply: Array<[string, Array<[string, string[]]>]> | null;
      try {
        reply = (await this.connection.call(
          'XREAD',
          'COUNT',
          READ_COUNT,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          this.feedKey,
          this.position,
        )) as typeof reply;
      } catch (error) {
        if (this.stopped) return;
        this.logger.warn(
          `Redis reader: ${(error as Error).message}; resuming from the last entry read`,
        );
        await new Promise<void>((resolve) => setTimeout(resolve, RETRY_MS).unref());
        continue;
      }
      if (reply === null || this.stopped) continue;
      await this.consume(reply[0]?.[1] ?? []);
    }
  }

  private async consume(raw: Array<[string, string[]]>): Promise<void> {
    let run: FeedEntry[] = [];
    let gapBefore = false;
    for (const [feedId, fields] of raw) {
      const n = Number(field(fields, 'n'));
      if (n !== this.lastN + 1) {
        if (run.length > 0) await this.handle(run, gapBefore);
        run = [];
        gapBefore = true;
      }
      this.lastN = n;
      this.position = feedId;
      run.push({
        feedId,
        channel: field(fields, 'c') ?? '',
        id: field(fields, 'i') ?? ZERO_ID,
        entry: field(fields, 'e') ?? '{}',
      });
    }
    if (run.length > 0) await this.handle(run, gapBefore);
  }
}

function field(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

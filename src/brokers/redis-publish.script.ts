import { createHash } from 'node:crypto';
import type { RedisClientLike } from './redis-client.interface.js';

/**
 * One publish, atomically and in one round trip: append to the channel's stream and trim it (by
 * count and by age), append to the live feed every instance reads, refresh both expiries; with
 * an idempotency key, a retry within the window answers the first publish's id and event and
 * appends nothing. The shebang makes Redis refuse the whole script up front when it is out of
 * memory (no partial write), and declares every key (cluster-safe once they share a slot).
 *
 * Feed entries carry a sequence number `n` (the previous entry's plus one), so a reader can tell
 * that entries it never read were trimmed from the feed: the next one it reads is not `n + 1`.
 *
 * KEYS: channel stream, feed stream, idempotency key (only with a key).
 * ARGV: the event's entry (see `encodeEntry`), maxEvents, oldest id kept by age, idle expiry ms, feed length, channel,
 * idempotency window ms.
 */
export const PUBLISH_SCRIPT = `#!lua
local idem = KEYS[3]
if idem then
  local seen = redis.call('GET', idem)
  if seen then
    local entry = redis.call('XRANGE', KEYS[1], seen, seen)
    local json = false
    if entry[1] then json = entry[1][2][2] end
    return {seen, json}
  end
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local n = 1
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if last[1] then
  local fields = last[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'n' then n = tonumber(fields[i + 1]) + 1 end
  end
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'c', ARGV[6], 'i', id, 'n', n, 'e', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if idem then redis.call('SET', idem, id, 'PX', ARGV[7]) end
return {id, false}
`;

/** Errors of a cluster that mean the command did not run here: sent again once slots are known. */
const REDIRECTED = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;
const MAX_REDIRECTIONS = 3;

const PUBLISH_SHA = createHash('sha1').update(PUBLISH_SCRIPT).digest('hex');

/** What the script answered: the event's id, and the stored entry when it was a retry. */
export interface PublishReply {
  readonly id: string;
  /** The first publish's event, for a retry of a key already seen (if not trimmed since). */
  readonly firstEntry?: string;
}

/**
 * Runs the publish script by its hash; only when Redis does not know it (a restart, a
 * `SCRIPT FLUSH`) is the script sent, once, and cached again. With `replicas`, a `WAIT` follows
 * in the same pipeline (one round trip, to the same node): the publish fails unless that many
 * replicas have it, so that a failover cannot lose what was acknowledged.
 */
export async function runPublishScript(
  client: RedisClientLike,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
  replicas?: { count: number; timeoutMs: number },
): Promise<PublishReply> {
  let reply = await send(client, 'EVALSHA', PUBLISH_SHA, keys, args, replicas);
  if (reply instanceof Error && /NOSCRIPT/.test(reply.message)) {
    reply = await send(client, 'EVAL', PUBLISH_SCRIPT, keys, args, replicas);
  }
  if (reply instanceof Error) throw reply;
  const [id, entry] = reply as [string, string | null | undefined];
  return entry ? { id, firstEntry: entry } : { id };
}

async function send(
  client: RedisClientLike,
  command: 'EVALSHA' | 'EVAL',
  script: string,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
  replicas: { count: number; timeoutMs: number } | undefined,
): Promise<unknown> {
  if (replicas === undefined) {
    return client.call(command, script, keys.length, ...keys, ...args).catch((e: Error) => e);
  }
  let replies: Array<[Error | null, unknown]> = [];
  for (let attempt = 0; ; attempt++) {
    const pipeline = client.pipeline();
    pipeline.call(command, script, keys.length, ...keys, ...args);
    pipeline.call('WAIT', replicas.count, replicas.timeoutMs);
    replies = (await pipeline.exec()) ?? [];
    const first = replies[0]?.[0];
    // A redirection in a pipeline is answered, not followed (the keyless WAIT succeeded where
    // the script was refused): a keyed command, which the cluster client follows, updates its
    // map of the slots, and the pipeline is sent again. Nothing ran the first time.
    if (first == null || !REDIRECTED.test(first.message) || attempt === MAX_REDIRECTIONS) break;
    await client.call('EXISTS', keys[0]!).catch(() => undefined);
  }
  const [error, reply] = replies[0] ?? [new Error('no reply')];
  if (error !== null) return error;
  const [waitError, acked] = replies[1] ?? [new Error('no reply')];
  if (waitError !== null) return waitError;
  if (Number(acked) < replicas.count) {
    return new Error(
      `stored on the master, but on ${Number(acked)} of ${replicas.count} replicas within ` +
        `${replicas.timeoutMs} ms: a failover could lose it (timed out waiting for replicas)`,
    );
  }
  return reply;
}

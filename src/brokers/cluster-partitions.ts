import keySlot from 'cluster-key-slot';

/** Redis Cluster's hash slots. */
const SLOTS = 16384;

/**
 * The hash tags of a cluster broker's partitions (`{<prefix>p<k>}` or `{<prefix>p<k>.<n>}`),
 * chosen so that partition k's slot is the middle of the k-th of `count` equal ranges of the
 * 16,384 slots: the partitions' slots are evenly spaced.
 *
 * A cluster gives each master a contiguous range of slots (`redis-cli --cluster create` and
 * managed clusters give equal ones), and a range at least as wide as the spacing holds one of
 * evenly spaced slots: every master holds its share of the partitions whenever there are at least
 * as many partitions as masters. Tags left to the hash alone would leave a master of three without
 * any of eight partitions about once in eight prefixes, idle while the others carry every channel.
 *
 * The search is deterministic (every instance with the same prefix and count finds the same tags)
 * and short: about 16,384 hashes of a few bytes per partition, some milliseconds for eight.
 */
export function partitionTags(keyPrefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, k) => {
    const slot = Math.floor(((k + 0.5) * SLOTS) / count);
    const base = `${keyPrefix}p${k}`;
    if (keySlot(base) === slot) return `{${base}}`;
    for (let n = 0; ; n++) {
      const candidate = `${base}.${n}`;
      if (keySlot(candidate) === slot) return `{${candidate}}`;
    }
  });
}

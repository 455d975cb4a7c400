import keySlot from 'cluster-key-slot';

/** Redis Cluster's hash slots. */
const SLOTS = 16384;

/**
 * The hash tags of a cluster broker's partitions (`{<prefix>p.<n>}`), chosen so that partition
 * k's slot is the middle of the k-th of `count` equal ranges of the 16,384 slots: the
 * partitions' slots are evenly spaced.
 *
 * A cluster gives each master a contiguous range of slots (`redis-cli --cluster create` and
 * managed clusters give equal ones), and a range at least as wide as the spacing holds one of
 * evenly spaced slots: every master holds its share of the partitions whenever there are at least
 * as many partitions as masters. Tags left to the hash alone would leave a master of three without
 * any of eight partitions about once in eight prefixes, idle while the others carry every channel.
 *
 * The search is deterministic (every instance with the same prefix and count finds the same tags)
 * and shared: each candidate fills whichever wanted slot it hashes to, so finding them all takes
 * some tens of thousands of hashes of a few bytes whatever the count (milliseconds for 1024).
 */
export function partitionTags(keyPrefix: string, count: number): string[] {
  const partitionOfSlot = new Map<number, number>();
  for (let k = 0; k < count; k++) partitionOfSlot.set(Math.floor(((k + 0.5) * SLOTS) / count), k);
  const tags: string[] = [];
  let found = 0;
  for (let n = 0; found < count; n++) {
    const candidate = `${keyPrefix}p.${n}`;
    const k = partitionOfSlot.get(keySlot(candidate));
    if (k !== undefined && tags[k] === undefined) {
      tags[k] = `{${candidate}}`;
      found++;
    }
  }
  return tags;
}

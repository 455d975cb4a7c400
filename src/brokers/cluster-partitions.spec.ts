import keySlot from 'cluster-key-slot';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { partitionTags } from './cluster-partitions.js';

const SLOTS = 16384;
const prefix = fc.string({ maxLength: 12 }).filter((p) => !/[{}]/.test(p));

/** The master owning `slot` when `masters` split the slots evenly, as `redis-cli --cluster create` does. */
function masterOf(slot: number, masters: number): number {
  return Math.min(masters - 1, Math.floor((slot * masters) / SLOTS));
}

describe('partitionTags', () => {
  it("puts partition k's slot in the middle of the k-th of equal slot ranges, the same on every instance", () => {
    fc.assert(
      fc.property(prefix, fc.integer({ min: 1, max: 24 }), (keyPrefix, count) => {
        const tags = partitionTags(keyPrefix, count);
        expect(tags).toEqual(partitionTags(keyPrefix, count));
        expect(new Set(tags).size).toBe(count);
        tags.forEach((tag, k) => {
          expect(tag.startsWith(`{${keyPrefix}p.`) && tag.endsWith('}')).toBe(true);
          // Redis hashes what is between the braces of a key that has them.
          const slot = keySlot(`${tag}channel`);
          expect(slot).toBe(keySlot(tag.slice(1, -1)));
          expect(slot).toBe(Math.floor(((k + 0.5) * SLOTS) / count));
        });
      }),
      { numRuns: 25 },
    );
  });

  it('gives every master of an evenly split cluster its share of the partitions', () => {
    fc.assert(
      fc.property(
        prefix,
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 0, max: 16 }),
        (keyPrefix, masters, extra) => {
          const count = masters + extra;
          const perMaster = Array.from({ length: masters }, () => 0);
          for (const tag of partitionTags(keyPrefix, count)) {
            perMaster[masterOf(keySlot(tag.slice(1, -1)), masters)]!++;
          }
          expect(Math.min(...perMaster)).toBeGreaterThanOrEqual(Math.floor(count / masters));
        },
      ),
      { numRuns: 25 },
    );
  });
});

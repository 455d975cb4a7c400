/**
 * How many hub streams of this instance follow each channel: what `SseHub.subscribers()` reads.
 * A channel no stream follows has no entry, so the map is as large as what is followed now.
 */
export class SubscriberCount {
  private readonly counts = new Map<string, number>();

  /** The streams of this instance following `channel` now. */
  of(channel: string): number {
    return this.counts.get(channel) ?? 0;
  }

  add(channel: string): void {
    this.counts.set(channel, this.of(channel) + 1);
  }

  remove(channel: string): void {
    const count = this.of(channel) - 1;
    if (count > 0) this.counts.set(channel, count);
    else this.counts.delete(channel);
  }
}

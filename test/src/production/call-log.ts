import { Injectable } from '@nestjs/common';

/**
 * Counts how often each handler ran, per application: a stream refused by a limit must not run
 * its handler at all.
 */
@Injectable()
export class CallLog {
  private readonly counts = new Map<string, number>();

  record(name: string): void {
    this.counts.set(name, this.count(name) + 1);
  }

  count(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}

import { Injectable } from '@nestjs/common';

/**
 * Counts what ran during a request (guards, handlers), per application: each test builds its own
 * application, so each starts from zero.
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

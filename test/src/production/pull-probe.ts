import { Injectable } from '@nestjs/common';

/**
 * What one pull source went through: how many events it was asked for, and whether it was
 * released (an async generator's `finally`, a `ReadableStream`'s `cancel`).
 */
export class PullRecord {
  pulls = 0;
  releasedHow?: 'finally' | 'cancel';
  readonly released: Promise<void>;
  private resolveReleased!: () => void;

  constructor() {
    this.released = new Promise((resolve) => (this.resolveReleased = resolve));
  }

  pulled(): void {
    this.pulls++;
  }

  release(how: 'finally' | 'cancel'): void {
    this.releasedHow ??= how;
    this.resolveReleased();
  }
}

/** The records of every pull source the application created, in order. */
@Injectable()
export class PullProbe {
  readonly sources: PullRecord[] = [];

  track(): PullRecord {
    const record = new PullRecord();
    this.sources.push(record);
    return record;
  }
}

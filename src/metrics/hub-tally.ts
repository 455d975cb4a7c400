import { errorTypeOf } from './error-type.js';

/** Told by a hub stream how its resume went, and of a broker failure while it read. */
export interface HubStreamObserver {
  /** A resuming stream replayed from its cursor (`true`), or got a reset instead. */
  replayed(resumable: boolean): void;
  /** The broker failed a history or live read of the stream. */
  failed(error: unknown): void;
}

/**
 * What `SseHub` did since start-up: plain numbers the metrics read when they are collected. A
 * publish is timed only while the metrics listen ({@link publishTimer}).
 */
export class HubTally implements HubStreamObserver {
  published = 0;
  resumed = 0;
  reset = 0;
  /** Broker failures by `error.type`. */
  readonly brokerErrors = new Map<string, number>();
  /** Set by the metrics: told each publish's duration, and its `error.type` if it failed. */
  publishTimer?: (seconds: number, errorType: string | undefined) => void;

  /** Runs one publish, and counts (and, when the metrics listen, times) it. */
  async publish<T>(publish: () => Promise<T>): Promise<T> {
    const timer = this.publishTimer;
    const started = timer === undefined ? 0 : performance.now();
    let stored: T;
    try {
      stored = await publish();
    } catch (error) {
      const type = this.countError(error);
      timer?.((performance.now() - started) / 1000, type);
      throw error;
    }
    this.published++;
    timer?.((performance.now() - started) / 1000, undefined);
    return stored;
  }

  replayed(resumable: boolean): void {
    if (resumable) this.resumed++;
    else this.reset++;
  }

  failed(error: unknown): void {
    this.countError(error);
  }

  private countError(error: unknown): string {
    const type = errorTypeOf(error);
    this.brokerErrors.set(type, (this.brokerErrors.get(type) ?? 0) + 1);
    return type;
  }
}

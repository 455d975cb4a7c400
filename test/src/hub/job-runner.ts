import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import { SseHub } from '../../../src/index.js';

/** One step of a job, as its events carry it. */
export interface JobStep {
  job: string;
  step: number;
  of: number;
}

/**
 * A long-running producer: it publishes a job's progress into `job:<id>` at its own pace,
 * whoever is connected. Its runs stop at shutdown, before the hub closes its broker.
 */
@Injectable()
export class JobRunner implements BeforeApplicationShutdown {
  private readonly stop = new AbortController();
  private readonly runs = new Map<string, Promise<string[]>>();

  constructor(private readonly hub: SseHub) {}

  /** Starts a job of `steps` steps, one every `intervalMs`; the last one is named `done`. */
  start(job: string, steps: number, intervalMs: number): void {
    const run = this.run(job, steps, intervalMs);
    // Awaited through `finished()`; a run cut by shutdown is not an error.
    run.catch(() => undefined);
    this.runs.set(job, run);
  }

  /** The ids of every step of a job, once it published its last one. */
  finished(job: string): Promise<string[]> {
    const run = this.runs.get(job);
    if (run === undefined) throw new Error(`no job ${job} was started`);
    return run;
  }

  beforeApplicationShutdown(): void {
    this.stop.abort();
  }

  private async run(job: string, steps: number, intervalMs: number): Promise<string[]> {
    const ids: string[] = [];
    for (let step = 1; step <= steps; step++) {
      const data: JobStep = { job, step, of: steps };
      ids.push(
        await this.hub.publish(`job:${job}`, { type: step === steps ? 'done' : 'progress', data }),
      );
      if (step < steps) await delay(intervalMs, undefined, { signal: this.stop.signal });
    }
    return ids;
  }
}

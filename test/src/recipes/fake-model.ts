import { Injectable } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';

/** A stand-in for an LLM client: yields the words of its answer, one at a time. */
@Injectable()
export class FakeModel {
  /** How each completion ended: `done`, or `aborted` when the client left first. */
  readonly outcomes: Array<'done' | 'aborted'> = [];
  private readonly waiters = new Set<() => void>();

  async *complete(prompt: string, signal: AbortSignal): AsyncGenerator<string> {
    let outcome: 'done' | 'aborted' = 'aborted';
    try {
      for (const word of answerTo(prompt)) {
        // Aborted when the client goes away: the model stops generating (and billing).
        await delay(2, undefined, { signal });
        yield word;
      }
      outcome = 'done';
    } catch (error) {
      if (!signal.aborted) throw error;
    } finally {
      // Also reached when the library return()s the generator of a client that left.
      this.outcomes.push(outcome);
      for (const waiter of this.waiters) waiter();
    }
  }

  /** Resolves once `count` completions ended. */
  ended(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.outcomes.length < count) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
      check();
    });
  }
}

/** The tokens of the answer to `prompt`: its words, each with the space that follows it. */
export function answerTo(prompt: string): string[] {
  return `You asked: ${prompt}. ${'Here is a long answer. '.repeat(40)}`
    .trim()
    .split(' ')
    .map((word, i, words) => (i < words.length - 1 ? `${word} ` : word));
}

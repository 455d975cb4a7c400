import { describe, expect, it } from 'vitest';
import type { SseEvent } from '../wire/sse-event.interface.js';
import { sourceAttacher, type PullTarget, type SourceHold } from './stream-sources.js';

/**
 * A connection as a pull source sees it: always writable, and it lets go of its source the
 * moment the source ends or fails (as a connection's dispose() does), keeping what that
 * release settles with.
 */
function attach(source: unknown) {
  let hold: SourceHold | undefined;
  let release: Promise<unknown> | undefined;
  const events: SseEvent[] = [];
  let settle!: (outcome: 'complete' | 'error') => void;
  const ended = new Promise<'complete' | 'error'>((resolve) => (settle = resolve));
  const end = (outcome: 'complete' | 'error') => {
    target.isOpen = false;
    release = Promise.resolve(hold!.unsubscribe()).then(
      () => 'released',
      (error: unknown) => error,
    );
    settle(outcome);
  };
  const target: PullTarget & { isOpen: boolean } = {
    isOpen: true,
    writable: true,
    drained: () => Promise.resolve(),
    next: (event) => events.push(event),
    complete: () => end('complete'),
    error: () => end('error'),
  };
  hold = sourceAttacher(source)!(target);
  return { events, ended, released: () => release! };
}

/** A connection that stays open until it lets go of its source itself. */
function openTarget(): PullTarget {
  return {
    isOpen: true,
    writable: true,
    drained: () => Promise.resolve(),
    next: () => undefined,
    complete: () => undefined,
    error: () => undefined,
  };
}

describe('releasing a pull source that already ended', () => {
  it('an errored ReadableStream is not cancelled (its cancel() would reject with the same error)', async () => {
    let cancels = 0;
    const boom = new Error('boom');
    const source = new ReadableStream<SseEvent>({
      start: (controller) => controller.enqueue({ data: 'one' }),
      pull: (controller) => controller.error(boom),
      cancel: () => void cancels++,
    });
    const pulled = attach(source);
    expect(await pulled.ended).toBe('error');
    expect(await pulled.released()).toBe('released');
    expect(cancels).toBe(0);
    expect(pulled.events).toEqual([{ data: 'one' }]);
    // The lock is let go: the stream can be read (and reports its error) again.
    await expect(source.getReader().read()).rejects.toBe(boom);
  });

  it('a ReadableStream that closed is released without a cancel', async () => {
    let cancels = 0;
    const source = new ReadableStream<SseEvent>({
      start: (controller) => {
        controller.enqueue({ data: 'one' });
        controller.close();
      },
      cancel: () => void cancels++,
    });
    const pulled = attach(source);
    expect(await pulled.ended).toBe('complete');
    expect(await pulled.released()).toBe('released');
    expect(cancels).toBe(0);
    expect(source.locked).toBe(false);
  });

  it('a ReadableStream still open is cancelled when let go', async () => {
    let cancels = 0;
    const source = new ReadableStream<SseEvent>({ cancel: () => void cancels++ });
    const hold = sourceAttacher(source)!(openTarget());
    await hold.unsubscribe();
    expect(cancels).toBe(1);
  });

  it.each([
    ['whose next() rejected', () => Promise.reject(new Error('next boom')), 'error'],
    ['that is done', () => Promise.resolve({ done: true, value: undefined }), 'complete'],
  ] as const)('an async iterator %s is not asked to return()', async (_, next, outcome) => {
    let returns = 0;
    const source = {
      [Symbol.asyncIterator]: () => ({
        next,
        return: () => {
          returns++;
          return Promise.reject(new Error('return of an ended iterator'));
        },
      }),
    };
    const pulled = attach(source);
    expect(await pulled.ended).toBe(outcome);
    expect(await pulled.released()).toBe('released');
    expect(returns).toBe(0);
  });

  it('an async iterator still running is asked to return() when let go', async () => {
    let returns = 0;
    const source = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<SseEvent>>(() => undefined),
        return: () => {
          returns++;
          return Promise.resolve({ done: true as const, value: undefined });
        },
      }),
    };
    const hold = sourceAttacher(source)!(openTarget());
    // Once the loop waits on next(): a release then must still run the iterator's return().
    await new Promise(setImmediate);
    await hold.unsubscribe();
    expect(returns).toBe(1);
  });
});

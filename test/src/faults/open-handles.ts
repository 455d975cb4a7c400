import { type AsyncHook, createHook } from 'node:async_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** What keeps a process alive: timers and TCP sockets and servers. */
const KINDS = new Set(['Timeout', 'TCPWRAP', 'TCPSERVERWRAP']);
/** The test runner's own timers come and go while a test runs; they are not the app's. */
const RUNNER = /[\\/]node_modules[\\/](@vitest|vitest|tinypool)[\\/]/;
/** Nor is the wait timer of this file. */
const OWN_FILE = fileURLToPath(import.meta.url);

interface Tracked {
  readonly type: string;
  readonly resource: { hasRef?: () => boolean };
  readonly stack: string;
}

/**
 * The timers and TCP handles created since {@link start} that still hold the process open
 * (referenced, not closed, not cleared, not fired), each with where it was created; unreferenced
 * ones do not keep a process alive and are left out.
 *
 * @example
 * ```ts
 * const handles = new OpenHandles().start();
 * // create, use and close an application
 * expect(await handles.closed(1000)).toEqual([]);
 * handles.stop();
 * ```
 */
export class OpenHandles {
  private readonly tracked = new Map<number, Tracked>();
  private changed?: () => void;
  private readonly hook: AsyncHook = createHook({
    init: (asyncId, type, _triggerAsyncId, resource) => {
      if (!KINDS.has(type)) return;
      const stack = new Error().stack?.split('\n').slice(2).join('\n') ?? '';
      if (RUNNER.test(stack) || stack.includes(OWN_FILE)) return;
      this.tracked.set(asyncId, { type, resource: resource as Tracked['resource'], stack });
    },
    destroy: (asyncId) => {
      if (this.tracked.delete(asyncId)) this.changed?.();
    },
  });

  start(): this {
    this.hook.enable();
    return this;
  }

  stop(): void {
    this.hook.disable();
    this.tracked.clear();
    this.changed = undefined;
  }

  /**
   * Resolves with `[]` as soon as none is open, or after `withinMs` with those still open,
   * described by kind and where they were created. (A timer due within `withinMs` does not
   * stay open: it ends by itself.)
   */
  async closed(withinMs: number): Promise<string[]> {
    await destroyHooksRun();
    if (this.stillOpen().length === 0) return [];
    await new Promise<void>((resolve) => {
      const finish = () => {
        this.changed = undefined;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(finish, withinMs);
      this.changed = () => {
        if (this.stillOpen().length === 0) finish();
      };
    });
    // What ended just before the deadline may not have been reported yet.
    await destroyHooksRun();
    return this.stillOpen().map(describe);
  }

  private stillOpen(): Tracked[] {
    // A cleared or fired timer and a closed handle are gone: their destroy hook ran.
    return [...this.tracked.values()].filter(({ resource }) => resource.hasRef?.() !== false);
  }
}

/**
 * Destroy hooks are queued and run on a later turn of the event loop (which may be as late as
 * its next wake-up): two turns run those already queued.
 */
async function destroyHooksRun(): Promise<void> {
  await nextTurn();
  await nextTurn();
}

function describe({ type, stack }: Tracked): string {
  // Node's own frames (the timer and socket constructors) say nothing about who made it.
  const frames = stack
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('at ') && !line.includes('node:'));
  return `${type} created ${frames.slice(0, 4).join(' < ')}`;
}

import type { PullTarget } from './stream-sources.js';

/**
 * The stream a source is being subscribed for, while its `subscribe()` runs. A source that can
 * wait for the socket (a hub stream replaying history page by page) asks for it when it is
 * subscribed, wherever it sits in the user's pipe: `filter`, `map` and every other operator
 * subscribe to their source within the same synchronous call, so the stream is found without
 * the source being the very object the handler returned. A synchronous slot, not an
 * AsyncLocalStorage: on Node 20 that turns on promise hooks for the whole process.
 */
export interface FlowControl {
  /** Runs `subscribe` with `target` as the stream being attached. */
  run<T>(target: PullTarget, subscribe: () => T): T;
  /** The stream being attached now, if any. */
  current(): PullTarget | undefined;
}

const attaching: Array<PullTarget> = [];

/** The one flow-control context; its slot is only ever set for the length of a call. */
export const flowControl: FlowControl = {
  run(target, subscribe) {
    attaching.push(target);
    try {
      return subscribe();
    } finally {
      attaching.pop();
    }
  },
  current() {
    return attaching.at(-1);
  },
};

import { nextTurn, within } from './deadline.js';

/**
 * Resolves once `predicate` holds, checked at each turn of the event loop (for state no event
 * announces, such as a server's count after a client left); fails after `timeoutMs`.
 */
export async function eventually(
  predicate: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  // Set by the deadline's end, from outside the loop.
  const state = { stopped: false };
  const poll = async () => {
    while (!state.stopped && !predicate()) await nextTurn();
  };
  try {
    await within(poll(), timeoutMs, what);
  } finally {
    state.stopped = true;
  }
}

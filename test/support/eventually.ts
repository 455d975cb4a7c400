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
  let stop = false;
  const poll = async () => {
    while (!stop && !predicate()) await nextTurn();
  };
  try {
    await within(poll(), timeoutMs, what);
  } finally {
    stop = true;
  }
}

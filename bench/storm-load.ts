/**
 * The reconnect storm's load generator: N `EventSource`-like clients (lib/storm-client.ts) on
 * instance A, each of which reconnects to instance B with `Last-Event-ID` when A ends its
 * stream, after the `retry:` A sent. Driven over IPC by bench/storm.ts, on a core of its own.
 */
import { announceReady, serveRpc } from './lib/rpc.js';
import { monotonicUs, StormClient, type StormPlan } from './lib/storm-client.js';
import { pool } from './lib/pool.js';

let clients: StormClient[] = [];
const idOf = new Map<number, string>();

const ms = (us: number) => us / 1000;

function percentiles(values: number[]): { p50: number; p99: number; max: number } {
  // oxlint-disable-next-line unicorn/no-array-sort -- a fresh array from map()
  const sorted = values.sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? NaN };
}

serveRpc({
  /** Opens `count` clients on `port` (A); resolves once each has its first response head. */
  async open(args: { port: number; count: number; concurrency: number } & StormPlan) {
    const started = performance.now();
    const statuses: Record<string, number> = {};
    const plan: StormPlan = { reconnectPort: args.reconnectPort, channels: args.channels };
    await pool(args.count, args.concurrency, async (i) => {
      const client = new StormClient(args.port, i, plan, idOf);
      clients.push(client);
      const status = await client.firstHead();
      statuses[status] = (statuses[status] ?? 0) + 1;
    });
    return { ms: performance.now() - started, statuses, ok: statuses[200] ?? 0 };
  },

  /** How far the storm is: clients whose stream ended, reconnected to B, resumed there. */
  progress() {
    let ended = 0;
    let reconnected = 0;
    let resumed = 0;
    let gaveUp = 0;
    for (const c of clients) {
      if (c.endedAt !== 0) ended++;
      if (c.reconnectedAt !== 0) reconnected++;
      if (c.resumedAt !== 0) resumed++;
      if (c.gaveUp) gaveUp++;
    }
    return { clients: clients.length, ended, reconnected, resumed, gaveUp, nowUs: monotonicUs() };
  },

  /** Waits (at most `timeoutMs`) until every client received its channel up to `lastSeq`. */
  async drain({ lastSeq, timeoutMs }: { lastSeq: number; timeoutMs: number }) {
    const started = performance.now();
    for (;;) {
      const behind = clients.filter((c) => !c.caughtUp(lastSeq)).length;
      if (behind === 0 || performance.now() - started > timeoutMs) {
        return { behind, ms: performance.now() - started };
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  },

  /**
   * Every client's account of the storm, from A's close (`closedAtUs`, monotonic): events lost
   * and duplicated (each counted against its channel's sequence, up to `lastSeq`), and the
   * times it took to reconnect and resume.
   */
  tally({ closedAtUs, lastSeq }: { closedAtUs: number; lastSeq: number }) {
    const sum = (f: (c: StormClient) => number) => clients.reduce((n, c) => n + f(c), 0);
    const lost = (c: StormClient) => c.lost + c.missingUpTo(lastSeq);
    const resumed = clients.filter((c) => c.resumedAt !== 0);
    const retryHints = clients.filter((c) => c.endedAt !== 0).map((c) => c.retryAtEnd);
    const bad = clients.find((c) => lost(c) > 0 || c.duplicated > 0 || c.idMismatches > 0);
    return {
      clients: clients.length,
      ended: clients.filter((c) => c.endedAt !== 0).length,
      reconnected: clients.filter((c) => c.reconnectedAt !== 0).length,
      resumed: resumed.length,
      gaveUp: clients.filter((c) => c.gaveUp).length,
      events: sum((c) => c.events),
      lost: sum(lost),
      duplicated: sum((c) => c.duplicated),
      clientsWithLoss: clients.filter((c) => lost(c) > 0).length,
      clientsWithDuplicates: clients.filter((c) => c.duplicated > 0).length,
      maxLostPerClient: Math.max(0, ...clients.map(lost)),
      maxDuplicatedPerClient: Math.max(0, ...clients.map((c) => c.duplicated)),
      idMismatches: sum((c) => c.idMismatches),
      failedAttempts: sum((c) => c.failedAttempts),
      sample: bad && {
        channel: bad.channel,
        next: bad.next,
        lost: lost(bad),
        duplicated: bad.duplicated,
        lastId: bad.lastId,
      },
      /** From A's close to each client's end of stream, reconnection head, first event on B. */
      endedMs: percentiles(clients.filter((c) => c.endedAt).map((c) => ms(c.endedAt - closedAtUs))),
      reconnectedMs: percentiles(
        clients.filter((c) => c.reconnectedAt).map((c) => ms(c.reconnectedAt - closedAtUs)),
      ),
      resumedMs: percentiles(resumed.map((c) => ms(c.resumedAt - closedAtUs))),
      /** From the client's own reconnect (after its retry wait) to its first event on B. */
      reconnectToResumeMs: percentiles(resumed.map((c) => ms(c.resumedAt - c.reconnectAt))),
      retryHintMs: { ...percentiles(retryHints), min: Math.min(...retryHints) },
      /** seq → id as the clients saw them, to compare with what the publisher was given. */
      ids: Object.fromEntries(idOf),
    };
  },

  closeAll() {
    for (const c of clients) c.stop();
    const closed = clients.length;
    clients = [];
    idOf.clear();
    return { closed };
  },
});
announceReady();

import type { Server } from 'node:http';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { setImmediate as nextMacrotask, setTimeout as sleep } from 'node:timers/promises';
import { makeEvent, type BenchEvent } from './payload.js';
import { announceReady, serveRpc } from './rpc.js';

/** What each benchmarked server provides; the kit does the rest (control channel, memory). */
export interface BenchServer {
  /** The listening HTTP server, whose sockets are counted. */
  readonly http: Server;
  /**
   * Sends one event to every open stream of `/events` (and of `/churn`). A server may return
   * a promise (the hub's `publish()`): it is not awaited before the next event, as a producer
   * that publishes from I/O does not wait either, but the `publish` command resolves only once
   * every one has settled, and reports those that failed.
   */
  publish(event: BenchEvent): void | Promise<unknown>;
  /** Streams subscribed right now. */
  subscribers(): number;
  /** Server-specific counters (e.g. the library's own stats). */
  extra?(): Record<string, unknown>;
}

/** Arguments of the `publish` command. */
export interface PublishArgs {
  first: number;
  count: number;
  size: number;
  /** Events published per turn of the event loop (1: a macrotask per event). */
  perTick?: number;
  /** A fixed pace instead: one event every `intervalMs` (for latency at a sustainable rate). */
  intervalMs?: number;
  /** Sample the RSS while publishing, for the peak, and note when a stream goes away. */
  watch?: boolean;
  /**
   * Await each publish's promise before the next event (a producer that awaits
   * `hub.publish()`): no event waits behind the ones before it.
   */
  awaitEach?: boolean;
}

export interface PublishResult {
  publishMs: number;
  peakRss: number;
  /** The first sequence number published after a subscriber went away (watch only). */
  firstSeqAfterDrop?: number;
  /** Publishes whose promise rejected (servers whose `publish` returns one). */
  publishErrors?: number;
  publishErrorSample?: string;
  /** Until every publish promise settled (servers whose `publish` returns one). */
  settledMs?: number;
}

/** What the `stats` command answers. */
export interface ServerStats {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** CPU time of the process so far (user + system), in ms. */
  cpuMs: number;
  /** CPU time of the whole machine so far (every process, every core), in ms. */
  machineBusyMs: number;
  sockets: number;
  subscribers: number;
  /** `process.getActiveResourcesInfo()`, counted by type (ref'ed handles, timers, requests). */
  resources: Record<string, number>;
  extra: Record<string, unknown>;
}

/**
 * Busy time of every core, from /proc/stat (Linux): with the CPU of the server and the load
 * generator, it tells how much of the machine other work took during a measurement.
 */
function machineBusyMs(): number {
  try {
    const fields = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!.trim().split(/\s+/);
    // cpu user nice system idle iowait irq softirq steal, in USER_HZ (100 per second).
    const [user, nice, system, , , irq, softirq, steal] = fields.slice(1).map(Number);
    return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) * 10;
  } catch {
    return NaN;
  }
}

/** The port to listen on: `--port N`, the first bare argument, or `PORT`; 0 picks a free one. */
export function portFromArgs(): number {
  const args = process.argv.slice(2);
  const flag = args.indexOf('--port');
  const value =
    flag >= 0 ? args[flag + 1] : (args.find((a) => /^\d+$/.test(a)) ?? process.env.PORT);
  return Number(value ?? 0);
}

/** Counts the open sockets of a server (the same way for every server). */
export function countSockets(http: Server): () => number {
  let open = 0;
  http.on('connection', (socket: Socket) => {
    open++;
    socket.once('close', () => open--);
  });
  return () => open;
}

/**
 * Runs a benchmarked server's control channel (IPC, driven by bench/run.ts): `publish` N events
 * of S bytes as fast as the event loop allows, and `stats` (memory after `gc()`, sockets,
 * subscribers, active resources).
 */
export function runBenchServer(server: BenchServer, port: number): void {
  const sockets = countSockets(server.http);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    throw new Error('Run the servers with --expose-gc (bench/run.ts does).');
  }

  serveRpc({
    async publish(args: PublishArgs): Promise<PublishResult> {
      const { first, count, size } = args;
      const perTick = args.perTick ?? 1;
      let peakRss = process.memoryUsage.rss();
      const sampler = args.watch
        ? setInterval(() => {
            peakRss = Math.max(peakRss, process.memoryUsage.rss());
          }, 10)
        : undefined;
      const subscribersAtStart = server.subscribers();
      let firstSeqAfterDrop: number | undefined;
      let pending: Array<Promise<unknown>> | undefined;
      let publishErrors = 0;
      let publishErrorSample: string | undefined;
      const started = performance.now();
      for (let i = 0; i < count;) {
        if (
          args.watch &&
          firstSeqAfterDrop === undefined &&
          server.subscribers() < subscribersAtStart
        ) {
          firstSeqAfterDrop = first + i;
        }
        for (let k = 0; k < perTick && i < count; k++, i++) {
          const settled = server.publish(makeEvent(first + i, size));
          if (settled !== undefined) {
            const counted = settled.catch((error: unknown) => {
              publishErrors++;
              publishErrorSample ??= error instanceof Error ? error.message : String(error);
            });
            if (args.awaitEach) await counted;
            else (pending ??= []).push(counted);
          }
        }
        if (args.intervalMs !== undefined) {
          // Paced from the start, so that a late timer does not slow the rate down.
          await sleep(Math.max(0, started + i * args.intervalMs - performance.now()));
        } else {
          // Each event is one task of its own, as when events come from I/O: the writes of
          // one turn go out (and the clients' reads come in) before the next event.
          await nextMacrotask();
        }
      }
      const publishMs = performance.now() - started;
      if (pending === undefined && !args.awaitEach) {
        if (sampler !== undefined) clearInterval(sampler);
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
        return { publishMs, peakRss, firstSeqAfterDrop };
      }
      await Promise.all(pending ?? []);
      const settledMs = performance.now() - started;
      if (sampler !== undefined) clearInterval(sampler);
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      return {
        publishMs,
        peakRss,
        firstSeqAfterDrop,
        publishErrors,
        publishErrorSample,
        settledMs,
      };
    },

    stats({ collect }: { collect?: boolean }): ServerStats {
      if (collect) {
        gc();
        gc();
      }
      const memory = process.memoryUsage();
      const resources: Record<string, number> = {};
      for (const type of process.getActiveResourcesInfo()) {
        resources[type] = (resources[type] ?? 0) + 1;
      }
      const cpu = process.cpuUsage();
      return {
        cpuMs: (cpu.user + cpu.system) / 1000,
        machineBusyMs: machineBusyMs(),
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        heapTotal: memory.heapTotal,
        external: memory.external,
        arrayBuffers: memory.arrayBuffers,
        sockets: sockets(),
        subscribers: server.subscribers(),
        resources,
        extra: server.extra?.() ?? {},
      };
    },
  });
  announceReady(port);
}

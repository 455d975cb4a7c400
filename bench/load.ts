/**
 * The load generator: raw `net` sockets to 127.0.0.1, every frame parsed, sequence numbers
 * checked (no gap, no duplicate), latency measured from the send time each event carries.
 * Driven over IPC by bench/run.ts (it pins this process to its own core).
 */
import { connect, type Socket } from 'node:net';
import { announceReady, serveRpc } from './lib/rpc.js';
import { type SseResponseSink, SseResponseReader } from './lib/sse-response-reader.js';

const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** Receive time of the socket read being parsed, in µs of the monotonic clock. */
let receivedAt = 0;
function stampReceipt(): void {
  receivedAt = Number(process.hrtime.bigint()) / 1000;
}

/** The window of sequence numbers being measured, and what was seen of it. */
class Window {
  readonly latencies: Float64Array;
  deliveries = 0;
  firstSentAt = Infinity;
  lastReceivedAt = 0;
  wrongSize = 0;
  remaining = 0;
  closedEarly = 0;
  missing = 0;
  done!: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    readonly from: number,
    readonly to: number,
    readonly size: number,
    clients: number,
  ) {
    this.latencies = new Float64Array((to - from) * clients);
    this.remaining = clients;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    if (clients === 0) this.resolveDone();
  }

  finish(): void {
    if (--this.remaining === 0) this.resolveDone();
  }
}

let window: Window | undefined;
let cpuAtArm = process.cpuUsage();
const counters = { gaps: 0, duplicates: 0, malformed: 0, others: 0, malformedSample: '' };

/** One SSE connection. */
class Client implements SseResponseSink {
  readonly socket: Socket;
  readonly reader = new SseResponseReader(this);
  status = 0;
  /** The next sequence number expected. */
  next = 0;
  events = 0;
  socketBytes = 0;
  /** How the connection ended: 'fin' (clean end), 'reset', 'error: …', or '' while open. */
  ending = '';
  inWindow = false;
  readonly closed: Promise<void>;
  private headers?: (status: number) => void;
  private firstEvent?: () => void;

  constructor(
    port: number,
    path: string,
    /** Not counted in measurements: the slow consumer. */
    readonly tracked: boolean,
    private readonly pauseAfterHeaders = false,
  ) {
    this.socket = connect({
      port,
      host: '127.0.0.1',
      // Reads land in one shared buffer, parsed at once (the reader copies what it keeps):
      // no allocation and no stream machinery per read, so the client costs less per event.
      onread: {
        buffer: READ_BUFFER,
        callback: (bytes: number, buffer: Uint8Array) => {
          stampReceipt();
          this.socketBytes += bytes;
          this.reader.push((buffer as Buffer).subarray(0, bytes));
          return true;
        },
      },
    });
    this.socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n` +
        'Cache-Control: no-cache\r\n\r\n',
    );
    this.socket.on('end', () => {
      this.ending ||= 'fin';
      this.socket.destroy();
    });
    this.socket.on('error', (error: NodeJS.ErrnoException) => {
      this.ending ||=
        error.code === 'ECONNRESET' ? 'reset' : `error: ${error.code ?? error.message}`;
    });
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.ending ||= 'closed';
        this.onClosed();
        this.headers?.(0);
        this.firstEvent?.();
        resolve();
      }),
    );
  }

  /** Resolves with the response status (0 when the connection closed first). */
  waitForHeaders(): Promise<number> {
    if (this.status !== 0 || this.ending !== '') return Promise.resolve(this.status);
    return new Promise((resolve) => (this.headers = resolve));
  }

  waitForFirstEvent(): Promise<void> {
    if (this.events > 0 || this.ending !== '') return Promise.resolve();
    return new Promise((resolve) => (this.firstEvent = resolve));
  }

  onHeaders(status: number): void {
    this.status = status;
    if (this.pauseAfterHeaders) this.socket.pause();
    const headers = this.headers;
    this.headers = undefined;
    headers?.(status);
  }

  onEvent(seq: number, sentAt: number, dataLength: number): void {
    this.events++;
    if (seq === this.next) {
      this.next++;
    } else if (seq > this.next) {
      counters.gaps += seq - this.next;
      this.next = seq + 1;
    } else {
      counters.duplicates++;
    }
    const w = window;
    if (w !== undefined && this.inWindow && seq >= w.from && seq < w.to) {
      w.latencies[w.deliveries++] = receivedAt - sentAt;
      if (sentAt < w.firstSentAt) w.firstSentAt = sentAt;
      w.lastReceivedAt = receivedAt;
      if (dataLength !== w.size) w.wrongSize++;
      if (this.next >= w.to) {
        this.inWindow = false;
        w.finish();
      }
    }
    const firstEvent = this.firstEvent;
    this.firstEvent = undefined;
    firstEvent?.();
  }

  onOther(): void {
    counters.others++;
  }

  onMalformed(reason: string): void {
    counters.malformed++;
    counters.malformedSample ||= reason;
  }

  private onClosed(): void {
    const w = window;
    if (w !== undefined && this.inWindow) {
      this.inWindow = false;
      w.closedEarly++;
      w.missing += w.to - Math.max(this.next, w.from);
      w.finish();
    }
  }
}

let clients: Client[] = [];

/** Runs `count` tasks, at most `concurrency` at a time. */
async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>) {
  let started = 0;
  const worker = async () => {
    while (started < count) await task(started++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

serveRpc({
  /** Opens `count` streams; resolves once each one has its response headers (or failed). */
  async open(args: {
    port: number;
    path: string;
    count: number;
    concurrency?: number;
    paused?: boolean;
  }) {
    const started = performance.now();
    const statuses: Record<string, number> = {};
    await pool(args.count, args.concurrency ?? 200, async () => {
      const client = new Client(args.port, args.path, !args.paused, args.paused);
      clients.push(client);
      const status = await client.waitForHeaders();
      statuses[status] = (statuses[status] ?? 0) + 1;
    });
    return { ms: performance.now() - started, statuses, ok: statuses[200] ?? 0 };
  },

  /** Starts measuring the events `from` ≤ seq < `to` on every tracked open stream. */
  arm(args: { from: number; to: number; size: number }) {
    const tracked = clients.filter((c) => c.tracked && c.ending === '');
    for (const c of clients) c.inWindow = false;
    counters.gaps = counters.duplicates = counters.malformed = counters.others = 0;
    counters.malformedSample = '';
    window = new Window(args.from, args.to, args.size, tracked.length);
    cpuAtArm = process.cpuUsage();
    for (const c of tracked) {
      c.inWindow = c.next < args.to;
      if (!c.inWindow) window.finish();
    }
    return { clients: tracked.length };
  },

  /** Waits for every armed stream to receive the whole window, and reports it. */
  async collect({ timeoutMs }: { timeoutMs: number }) {
    const w = window!;
    let timedOut = false;
    await withTimeout(w.done, timeoutMs, 'collect').catch(() => (timedOut = true));
    const cpu = process.cpuUsage(cpuAtArm);
    const unfinished = clients.filter((c) => c.inWindow);
    for (const c of unfinished) {
      w.missing += w.to - Math.max(c.next, w.from);
      c.inWindow = false;
    }
    window = undefined;
    // In place: the window is done with, and a copy of a million latencies is not needed.
    // oxlint-disable-next-line unicorn/no-array-sort
    const sorted = w.latencies.subarray(0, w.deliveries).sort();
    const seconds = (w.lastReceivedAt - w.firstSentAt) / 1e6;
    return {
      deliveries: w.deliveries,
      seconds,
      deliveriesPerSecond: w.deliveries / seconds,
      p50Ms: percentile(sorted, 50) / 1000,
      p99Ms: percentile(sorted, 99) / 1000,
      maxMs: (sorted[sorted.length - 1] ?? NaN) / 1000,
      loadCpuMs: (cpu.user + cpu.system) / 1000,
      wrongSize: w.wrongSize,
      closedEarly: w.closedEarly,
      unfinished: unfinished.length,
      missing: w.missing,
      timedOut,
      ...counters,
    };
  },

  /** The paused (slow) streams start reading again; reports what each one got in the end. */
  async resumeSlow({ idleMs, timeoutMs }: { idleMs: number; timeoutMs: number }) {
    const slow = clients.filter((c) => !c.tracked);
    const deadline = performance.now() + timeoutMs;
    return Promise.all(
      slow.map(async (c) => {
        const bytesWhilePaused = c.socketBytes;
        c.socket.resume();
        // Reads what the kernel kept for it, then sees the server's FIN or RST, or nothing.
        let last = -1;
        while (c.ending === '' && c.socketBytes !== last && performance.now() < deadline) {
          last = c.socketBytes;
          await Promise.race([c.closed, new Promise((r) => setTimeout(r, idleMs))]);
        }
        return {
          status: c.status,
          bytesWhilePaused,
          bytes: c.socketBytes,
          events: c.events,
          lastSeq: c.next - 1,
          ending: c.ending || 'still open',
          gaps: counters.gaps,
        };
      }),
    );
  },

  /** Cycles of connect, first event, disconnect; `concurrency` of them at a time. */
  async churn(args: { port: number; path: string; cycles: number; concurrency: number }) {
    let ok = 0;
    const failures: Record<string, number> = {};
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await pool(args.cycles, args.concurrency, async () => {
      const client = new Client(args.port, args.path, false);
      let failure = '';
      try {
        await withTimeout(client.waitForFirstEvent(), 10_000, 'first event');
        if (client.status !== 200) failure = `status ${client.status}`;
        else if (client.events !== 1 || client.next !== 1) failure = 'wrong first event';
      } catch {
        failure = 'timeout';
      }
      if (client.ending !== '' && client.events === 0) failure ||= client.ending;
      client.socket.destroy();
      await client.closed;
      if (failure === '') ok++;
      else failures[failure] = (failures[failure] ?? 0) + 1;
    });
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      cycles: args.cycles,
      ok,
      failures,
      ms,
      cyclesPerSecond: (args.cycles / ms) * 1000,
      loadCpuMs: (cpu.user + cpu.system) / 1000,
    };
  },

  /** Closes every stream, and resolves once every socket closed. */
  async closeAll() {
    const all = clients;
    clients = [];
    window = undefined;
    for (const c of all) c.socket.destroy();
    await Promise.all(all.map((c) => c.closed));
    return { closed: all.length };
  },
});
announceReady();

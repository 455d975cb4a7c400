/**
 * The load generator: raw `net` sockets to 127.0.0.1, every frame parsed, sequence numbers
 * checked (no gap, no duplicate), latency measured from the send time each event carries.
 * With `http2` (the `--platform h2` group), streams over a few `node:http2` sessions instead.
 * Driven over IPC by bench/run.ts (it pins this process to its own core).
 */
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect as connectH2,
  constants as h2,
} from 'node:http2';
import { connect, type Socket } from 'node:net';
import { announceReady, serveRpc } from './lib/rpc.js';
import { type SseResponseSink, SseResponseReader } from './lib/sse-response-reader.js';
import { pool, quantile } from './lib/pool.js';

const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** Receive time of the socket read being parsed, in µs of the monotonic clock. */
let receivedAt = 0;
function stampReceipt(): void {
  receivedAt = Number(process.hrtime.bigint()) / 1000;
}

/**
 * What the streams to one server port saw of a window (one group: every stream when there is
 * one server, one group per instance when there are several).
 */
class Group {
  readonly latencies: Float64Array;
  deliveries = 0;
  firstSentAt = Infinity;
  lastReceivedAt = 0;

  constructor(
    readonly port: number,
    readonly clients: number,
    events: number,
  ) {
    this.latencies = new Float64Array(events * clients);
  }
}

/** The window of sequence numbers being measured, and what was seen of it. */
class Window {
  readonly groups = new Map<number, Group>();
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
    tracked: Client[],
  ) {
    const perPort = new Map<number, number>();
    for (const c of tracked) perPort.set(c.port, (perPort.get(c.port) ?? 0) + 1);
    for (const [port, n] of perPort) this.groups.set(port, new Group(port, n, to - from));
    for (const c of tracked) c.group = this.groups.get(c.port);
    this.remaining = tracked.length;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    if (tracked.length === 0) this.resolveDone();
  }

  finish(): void {
    if (--this.remaining === 0) this.resolveDone();
  }
}

let window: Window | undefined;
let cpuAtArm = process.cpuUsage();
/** Bytes the open streams had received when the window was armed (heartbeats count here). */
let bytesAtArm = 0;
const bytesOfAll = () => clients.reduce((n, c) => n + c.socketBytes, 0);
const counters = { gaps: 0, duplicates: 0, malformed: 0, others: 0, malformedSample: '' };

/** One SSE connection. */
class Client implements SseResponseSink {
  /** The TCP socket, or on HTTP/2 the stream (destroying it resets the stream alone). */
  readonly socket: Socket | ClientHttp2Stream;
  readonly reader: SseResponseReader;
  status = 0;
  /** The next sequence number expected. */
  next = 0;
  events = 0;
  socketBytes = 0;
  /** How the connection ended: 'fin' (clean end), 'reset', 'error: …', or '' while open. */
  ending = '';
  inWindow = false;
  /** Where this stream's deliveries of the armed window are recorded. */
  group: Group | undefined;
  /** Gaps and duplicates over the stream's whole life (the counters are per window). */
  anomalies = 0;
  readonly closed: Promise<void>;
  private headers?: (status: number) => void;
  private firstEvent?: () => void;

  constructor(
    readonly port: number,
    path: string,
    /** Not counted in measurements: the slow consumer. */
    readonly tracked: boolean,
    private readonly pauseAfterHeaders = false,
    opaqueIds = false,
    /** HTTP/2: the stream opens on this session. */
    session?: ClientHttp2Session,
  ) {
    this.reader = new SseResponseReader(this, opaqueIds);
    this.socket = session ? requestH2(this, session, path) : this.connectH1(port, path);
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
        // A stream reset by the server (RST_STREAM CANCEL emits no 'error').
        if ('rstCode' in this.socket && this.socket.rstCode !== h2.NGHTTP2_NO_ERROR) {
          this.ending ||= 'reset';
        }
        this.ending ||= 'closed';
        this.onClosed();
        this.headers?.(0);
        this.firstEvent?.();
        resolve();
      }),
    );
  }

  private connectH1(port: number, path: string): Socket {
    const socket = connect({
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
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n` +
        'Cache-Control: no-cache\r\n\r\n',
    );
    return socket;
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
      this.anomalies++;
      this.next = seq + 1;
    } else {
      counters.duplicates++;
      this.anomalies++;
    }
    const w = window;
    if (w !== undefined && this.inWindow && seq >= w.from && seq < w.to) {
      const g = this.group!;
      g.latencies[g.deliveries++] = receivedAt - sentAt;
      if (sentAt < g.firstSentAt) g.firstSentAt = sentAt;
      g.lastReceivedAt = receivedAt;
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

// --- HTTP/2 (the `--platform h2` group) ----------------------------------------------------

/**
 * A browser's flow-control windows (Chromium: 6 MiB per stream, 15 MiB per session), so that
 * the client's WINDOW_UPDATEs do not throttle the server, as they would not in a browser.
 */
const H2_STREAM_WINDOW = 6 * 2 ** 20;
const H2_SESSION_WINDOW = 15 * 2 ** 20;

/** How the streams of an `open` or `churn` command go over HTTP/2: spread over `sessions`. */
interface H2Mode {
  sessions: number;
}

/** The sessions `open` spreads its streams over, per server port (closed by `closeAll`). */
const h2Sessions = new Map<number, Promise<ClientHttp2Session[]>>();
let h2Turn = 0;

async function openSessions(port: number, count: number): Promise<ClientHttp2Session[]> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ClientHttp2Session>((resolve, reject) => {
          const session = connectH2(`http://127.0.0.1:${port}`, {
            settings: { initialWindowSize: H2_STREAM_WINDOW, enablePush: false },
            // Until the server's SETTINGS say otherwise (Node's default would be 100).
            peerMaxConcurrentStreams: 2 ** 31 - 1,
            // A paused stream's unread data is held here, up to its window.
            maxSessionMemory: 256,
          });
          session.once('connect', () => {
            session.setLocalWindowSize(H2_SESSION_WINDOW);
            resolve(session);
          });
          session.once('error', reject);
          session.on('error', () => undefined);
        }),
    ),
  );
}

async function closeSessions(sessions: ClientHttp2Session[]): Promise<void> {
  await Promise.all(
    sessions.map((session) =>
      session.destroyed
        ? undefined
        : new Promise<void>((resolve) => {
            session.once('close', resolve);
            session.destroy();
          }),
    ),
  );
}

/** The next session of `port`'s, in turn, opening `mode.sessions` of them the first time. */
async function nextSession(port: number, mode: H2Mode): Promise<ClientHttp2Session> {
  let sessions = h2Sessions.get(port);
  if (sessions === undefined) h2Sessions.set(port, (sessions = openSessions(port, mode.sessions)));
  const open = await sessions;
  return open[h2Turn++ % open.length]!;
}

/**
 * One stream of `client` on `session`. The frame reader is HTTP/1.1's, and HTTP/2 has no head
 * in its DATA frames: the reader gets the status of the HEADERS frame as a head of its own,
 * with no transfer coding, and the DATA frames then go to its frame parser as they are.
 */
function requestH2(client: Client, session: ClientHttp2Session, path: string): ClientHttp2Stream {
  const stream = session.request({
    ':path': path,
    accept: 'text/event-stream',
    'cache-control': 'no-cache',
  });
  stream.once('response', (headers) => {
    client.reader.push(Buffer.from(`HTTP/1.1 ${headers[':status']} H2\r\n\r\n`));
  });
  stream.on('data', (chunk: Buffer) => {
    stampReceipt();
    client.socketBytes += chunk.length;
    client.reader.push(chunk);
  });
  return stream;
}

// -------------------------------------------------------------------------------------------

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
    /** The server chooses the ids (the hub): the sequence number is read from the data. */
    opaqueIds?: boolean;
    /** Streams over this many HTTP/2 sessions (h2c), in turn, instead of a socket each. */
    http2?: H2Mode;
  }) {
    const started = performance.now();
    const statuses: Record<string, number> = {};
    await pool(args.count, args.concurrency ?? 200, async () => {
      const session = args.http2 ? await nextSession(args.port, args.http2) : undefined;
      const client = new Client(
        args.port,
        args.path,
        !args.paused,
        args.paused,
        args.opaqueIds,
        session,
      );
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
    window = new Window(args.from, args.to, args.size, tracked);
    cpuAtArm = process.cpuUsage();
    bytesAtArm = bytesOfAll();
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
    const groups = [...w.groups.values()];
    const firstSentAt = Math.min(...groups.map((g) => g.firstSentAt));
    const summarize = (latencies: Float64Array, lastReceivedAt: number) => {
      // In place: the window is done with, and a copy of a million latencies is not needed.
      // oxlint-disable-next-line unicorn/no-array-sort
      const sorted = latencies.sort();
      const seconds = (lastReceivedAt - firstSentAt) / 1e6;
      return {
        deliveries: sorted.length,
        seconds,
        deliveriesPerSecond: sorted.length / seconds,
        p50Ms: quantile(sorted, 0.5) / 1000,
        p99Ms: quantile(sorted, 0.99) / 1000,
        maxMs: (sorted[sorted.length - 1] ?? NaN) / 1000,
      };
    };
    let all: Float64Array;
    if (groups.length === 1) {
      all = groups[0]!.latencies.subarray(0, groups[0]!.deliveries);
    } else {
      all = new Float64Array(groups.reduce((n, g) => n + g.deliveries, 0));
      let at = 0;
      for (const g of groups) {
        all.set(g.latencies.subarray(0, g.deliveries), at);
        at += g.deliveries;
      }
    }
    // Per server port, when the streams went to several (before the merged array is sorted).
    const byPort =
      groups.length > 1
        ? Object.fromEntries(
            groups.map((g) => [
              g.port,
              {
                clients: g.clients,
                ...summarize(g.latencies.subarray(0, g.deliveries), g.lastReceivedAt),
              },
            ]),
          )
        : undefined;
    return {
      ...summarize(all, Math.max(...groups.map((g) => g.lastReceivedAt))),
      byPort,
      loadCpuMs: (cpu.user + cpu.system) / 1000,
      /**
       * Bytes every stream received during the window, frames and heartbeats: a heartbeat is
       * a line, not a frame, so the frame reader does not see it (bench/capacity.ts counts them
       * from this in a window without events).
       */
      socketBytes: bytesOfAll() - bytesAtArm,
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
  async churn(args: {
    port: number;
    path: string;
    cycles: number;
    concurrency: number;
    /** Each cycle a stream on one of these sessions (opened before, closed after the cycles). */
    http2?: H2Mode;
  }) {
    let ok = 0;
    const failures: Record<string, number> = {};
    const sessions = args.http2 ? await openSessions(args.port, args.http2.sessions) : [];
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    let turn = 0;
    await pool(args.cycles, args.concurrency, async () => {
      const session = sessions.length > 0 ? sessions[turn++ % sessions.length] : undefined;
      const client = new Client(args.port, args.path, false, false, false, session);
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
    await closeSessions(sessions);
    return {
      cycles: args.cycles,
      ok,
      failures,
      ms,
      cyclesPerSecond: (args.cycles / ms) * 1000,
      loadCpuMs: (cpu.user + cpu.system) / 1000,
    };
  },

  /**
   * Per server port: how many open, tracked streams got exactly the events 0 … expected − 1,
   * each once and in order, over their whole life (not only the measured windows).
   */
  tally({ expected }: { expected: number }) {
    const byPort: Record<
      string,
      { streams: number; exact: number; closed: number; sample?: string }
    > = {};
    for (const c of clients) {
      if (!c.tracked) continue;
      const t = (byPort[c.port] ??= { streams: 0, exact: 0, closed: 0 });
      t.streams++;
      if (c.ending !== '') t.closed++;
      if (c.events === expected && c.next === expected && c.anomalies === 0) t.exact++;
      else
        t.sample ??= `events ${c.events}, next ${c.next}, gaps+duplicates ${c.anomalies}, ending '${c.ending}'`;
    }
    return byPort;
  },

  /** Closes every stream, and resolves once every socket closed. */
  async closeAll() {
    const all = clients;
    clients = [];
    window = undefined;
    for (const c of all) c.socket.destroy();
    await Promise.all(all.map((c) => c.closed));
    const sessions = (await Promise.all(h2Sessions.values())).flat();
    h2Sessions.clear();
    await closeSessions(sessions);
    return { closed: all.length, sessions: sessions.length };
  },
});
announceReady();

/**
 * The cluster benchmark's load generator (bench/cluster.ts): raw-socket SSE clients spread over
 * the instances and the channels, every frame parsed by lib/sse-response-reader.ts (reads land
 * in one shared buffer, as in load.ts). Each client checks, over the whole run, that every event
 * of its channel arrives once (lost and duplicated, against the sequence numbers published) and
 * that the events of one publisher arrive in the order it published them. Latency: the receive
 * time of the socket read that completed a frame, minus the send stamp in its data. Driven over
 * IPC, on a core of its own.
 */
import { connect, type Socket } from 'node:net';
import { announceReady, serveRpc } from './lib/rpc.js';
import { type SseResponseSink, SseResponseReader } from './lib/sse-response-reader.js';
import { pool, quantile } from './lib/pool.js';

const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** Receive time of the socket read being parsed, in µs of the monotonic clock. */
let receivedAt = 0;

/** How the run is laid out; the same for every client. */
interface Plan {
  channels: number;
  /** Sequence numbers 0 … totalSeqs − 1 are published in the run, seq on `ch<seq mod channels>`. */
  totalSeqs: number;
  /** Who publishes what: [from, to, publisher], each publisher's ranges in the order it sends them. */
  ranges: Array<[number, number, number]>;
  publishers: number;
}

let plan: Plan | undefined;

function publisherOf(seq: number): number {
  for (const [from, to, publisher] of plan!.ranges) if (seq >= from && seq < to) return publisher;
  return -1;
}

/** The deliveries of one window of sequence numbers. */
class Window {
  readonly latencies: Float64Array;
  /** Per delivery: its channel's shard and its client's instance, to split the latencies. */
  readonly shards: Uint8Array;
  readonly instances: Uint8Array;
  deliveries = 0;
  firstSentAt = Infinity;
  lastReceivedAt = 0;
  remaining: number;
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    readonly from: number,
    readonly to: number,
    readonly size: number,
    /** Channel → the index of the shard that holds it. */
    readonly shardOf: number[],
    expected: number,
  ) {
    this.latencies = new Float64Array(expected);
    this.shards = new Uint8Array(expected);
    this.instances = new Uint8Array(expected);
    this.remaining = expected;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    if (expected === 0) this.resolveDone();
  }

  record(client: Client, sentAt: number): void {
    const i = this.deliveries++;
    if (i >= this.latencies.length) return;
    this.latencies[i] = receivedAt - sentAt;
    this.shards[i] = this.shardOf[client.channel] ?? 0;
    this.instances[i] = client.instance;
    if (sentAt < this.firstSentAt) this.firstSentAt = sentAt;
    this.lastReceivedAt = receivedAt;
    if (--this.remaining === 0) this.resolveDone();
  }
}

let window: Window | undefined;
const counters = {
  others: 0,
  malformed: 0,
  wrongChannel: 0,
  wrongSize: 0,
  malformedSample: '',
  otherSample: '',
};

/** One SSE client on one channel. */
class Client implements SseResponseSink {
  readonly socket: Socket;
  readonly reader = new SseResponseReader(this, true);
  /** Deliveries of each event of its channel: index (seq − channel) / channels. */
  readonly received: Uint8Array;
  /** The last seq received from each publisher. */
  readonly lastFrom: Float64Array;
  status = 0;
  events = 0;
  duplicated = 0;
  outOfOrder = 0;
  ending = '';
  readonly closed: Promise<void>;
  private headers?: (status: number) => void;

  constructor(
    readonly port: number,
    readonly instance: number,
    readonly channel: number,
  ) {
    const p = plan!;
    this.received = new Uint8Array(Math.ceil((p.totalSeqs - channel) / p.channels));
    this.lastFrom = new Float64Array(p.publishers).fill(-1);
    this.socket = connect({
      port,
      host: '127.0.0.1',
      onread: {
        buffer: READ_BUFFER,
        callback: (bytes: number, buffer: Uint8Array) => {
          receivedAt = Number(process.hrtime.bigint()) / 1000;
          this.reader.push((buffer as Buffer).subarray(0, bytes));
          return true;
        },
      },
    });
    this.socket.write(
      `GET /events?ch=ch${channel} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        'Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n',
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
        this.headers?.(0);
        resolve();
      }),
    );
  }

  waitForHeaders(): Promise<number> {
    if (this.status !== 0 || this.ending !== '') return Promise.resolve(this.status);
    return new Promise((resolve) => (this.headers = resolve));
  }

  onHeaders(status: number): void {
    this.status = status;
    const headers = this.headers;
    this.headers = undefined;
    headers?.(status);
  }

  onEvent(seq: number, sentAt: number, dataLength: number): void {
    const p = plan!;
    this.events++;
    if (seq % p.channels !== this.channel || seq >= p.totalSeqs) {
      counters.wrongChannel++;
      return;
    }
    const at = (seq - this.channel) / p.channels;
    const before = this.received[at]!;
    if (before > 0) this.duplicated++;
    if (before < 255) this.received[at] = before + 1;
    const publisher = publisherOf(seq);
    if (publisher >= 0) {
      if (seq < this.lastFrom[publisher]!) this.outOfOrder++;
      else this.lastFrom[publisher] = seq;
    }
    const w = window;
    if (w !== undefined && before === 0 && seq >= w.from && seq < w.to) {
      if (dataLength !== w.size) counters.wrongSize++;
      w.record(this, sentAt);
    }
  }

  onOther(frame: string): void {
    counters.others++;
    counters.otherSample ||= frame.slice(0, 80);
  }

  onMalformed(reason: string): void {
    counters.malformed++;
    counters.malformedSample ||= reason;
  }

  /** Events of its channel below `upTo` it never received. */
  lostBelow(upTo: number): number {
    const p = plan!;
    let lost = 0;
    for (let at = 0, seq = this.channel; seq < upTo; at++, seq += p.channels) {
      if (this.received[at] === 0) lost++;
    }
    return lost;
  }
}

let clients: Client[] = [];

function latencyView(values: Float64Array) {
  // oxlint-disable-next-line unicorn/no-array-sort -- a fresh array of the window's own
  const sorted = values.sort();
  return {
    deliveries: sorted.length,
    p50Ms: quantile(sorted, 0.5) / 1000,
    p99Ms: quantile(sorted, 0.99) / 1000,
    maxMs: (sorted[sorted.length - 1] ?? NaN) / 1000,
  };
}

/** The latencies of the deliveries whose `tags` entry is `tag`, in a new array. */
function select(w: Window, tags: Uint8Array, tag: number): Float64Array {
  const n = Math.min(w.deliveries, w.latencies.length);
  let count = 0;
  for (let i = 0; i < n; i++) if (tags[i] === tag) count++;
  const out = new Float64Array(count);
  for (let i = 0, j = 0; i < n; i++) if (tags[i] === tag) out[j++] = w.latencies[i]!;
  return out;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

serveRpc({
  /**
   * Opens `perInstance` clients on each port; client g (over all) is on instance
   * ⌊g / perInstance⌋ and channel g mod channels, so that every channel has clients on every
   * instance. Resolves once each has its response head.
   */
  async open(args: { ports: number[]; perInstance: number; concurrency: number } & Plan) {
    plan = {
      channels: args.channels,
      totalSeqs: args.totalSeqs,
      ranges: args.ranges,
      publishers: args.publishers,
    };
    const started = performance.now();
    const statuses: Record<string, number> = {};
    const count = args.ports.length * args.perInstance;
    await pool(count, args.concurrency, async (g) => {
      const instance = Math.floor(g / args.perInstance);
      const client = new Client(args.ports[instance]!, instance, g % args.channels);
      clients.push(client);
      const status = await client.waitForHeaders();
      statuses[status] = (statuses[status] ?? 0) + 1;
    });
    return { ms: performance.now() - started, statuses, ok: statuses[200] ?? 0 };
  },

  /** Starts measuring the events `from` ≤ seq < `to`: each open client's share of them. */
  arm(args: { from: number; to: number; size: number; shardOf: number[] }) {
    const p = plan!;
    let expected = 0;
    for (const c of clients) {
      if (c.ending !== '') continue;
      // The seqs of [from, to) on its channel.
      const first = args.from + ((c.channel - (args.from % p.channels) + p.channels) % p.channels);
      if (first < args.to) expected += Math.floor((args.to - 1 - first) / p.channels) + 1;
    }
    window = new Window(args.from, args.to, args.size, args.shardOf, expected);
    return { expected };
  },

  /** Waits (at most `timeoutMs`) for the armed window's deliveries, and reports them. */
  async collect({
    timeoutMs,
    shards,
    instances,
  }: {
    timeoutMs: number;
    shards: number;
    instances: number;
  }) {
    const w = window!;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      w.done.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    window = undefined;
    const n = Math.min(w.deliveries, w.latencies.length);
    const perShard = Array.from({ length: shards }, (_, s) => latencyView(select(w, w.shards, s)));
    const perInstance = Array.from({ length: instances }, (_, k) =>
      latencyView(select(w, w.instances, k)),
    );
    const seconds = (w.lastReceivedAt - w.firstSentAt) / 1e6;
    return {
      ...latencyView(w.latencies.subarray(0, n)),
      expected: w.latencies.length,
      missing: w.remaining,
      seconds,
      deliveriesPerSecond: n / seconds,
      perShard,
      perInstance,
      timedOut,
    };
  },

  /**
   * Every client's account of the whole run, for the events 0 … `upTo` − 1: lost, duplicated,
   * out of a publisher's order, and how the streams are.
   */
  tally({ upTo }: { upTo: number }) {
    const lost = clients.map((c) => c.lostBelow(upTo));
    const duplicated = clients.map((c) => c.duplicated);
    const bad = clients.findIndex((c, i) => lost[i]! > 0 || c.duplicated > 0 || c.outOfOrder > 0);
    return {
      clients: clients.length,
      events: sum(clients.map((c) => c.events)),
      lost: sum(lost),
      clientsWithLoss: lost.filter((n) => n > 0).length,
      maxLostPerClient: Math.max(0, ...lost),
      duplicated: sum(duplicated),
      clientsWithDuplicates: duplicated.filter((n) => n > 0).length,
      maxDuplicatedPerClient: Math.max(0, ...duplicated),
      outOfOrder: sum(clients.map((c) => c.outOfOrder)),
      closed: clients.filter((c) => c.ending !== '').length,
      sample:
        bad === -1
          ? undefined
          : {
              channel: clients[bad]!.channel,
              instance: clients[bad]!.instance,
              lost: lost[bad],
              duplicated: clients[bad]!.duplicated,
              outOfOrder: clients[bad]!.outOfOrder,
              ending: clients[bad]!.ending,
            },
      ...counters,
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

/**
 * Many channels (issue 11 item 1): N streams on N distinct channels (`/channel/<n>`, one channel
 * per user) on one instance, on the memory broker and on Redis; then one publish per channel.
 *
 *   npx tsc -p bench/tsconfig.json && taskset -c 1 node bench/dist/bench/many-channels.js
 *       [--streams 15000] [--brokers memory,redis] [--redis-url redis://127.0.0.1:6379]
 *       [--source-addresses N] [--concurrency 200]
 *
 * The server (servers/nest-hub-channels.ts) runs pinned to core 0; this process opens the
 * streams over raw sockets, a socket per stream, 200 connecting at a time (`--concurrency`),
 * each counted open when its head (200) arrives. Past 4000 streams, the sockets come from
 * 127.0.0.2, 127.0.0.3, … (one address per 4000, or `--source-addresses`): from one address,
 * Linux's search for a free ephemeral port costs each connect() past about 14,000 a millisecond
 * of the client's kernel time (lib/loopback-sources.ts). Measured: the time until every
 * stream's subscription is live (the server counts those whose broker `ready` resolved), the
 * open latency (connect to head), the CPU of the server (user, system, GC pauses), of this
 * client and of the rest of the machine while opening, the time until every client got its channel's event, and
 * redis-server's CPU (from /proc/<pid>/stat of the server on the URL's port: the machine's
 * Redis is shared, so other work on it counts too) per delivered event and per opened stream.
 * Keys are deleted afterwards.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loopbackSource, sourceAddressesFor } from './lib/loopback-sources.js';
import { assertLoopback, connectRedisAdmin } from './lib/redis-admin.js';
import { RpcChild } from './lib/rpc.js';
import type { ServerUsage } from './lib/server-usage.js';
import { quantile } from './lib/pool.js';

const { values: flags } = parseArgs({
  options: {
    streams: { type: 'string', default: '15000' },
    brokers: { type: 'string', default: 'memory,redis' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    'source-addresses': { type: 'string' },
    concurrency: { type: 'string', default: '200' },
  },
});
const streams = Number(flags.streams);
const sourceAddresses = Number(flags['source-addresses'] ?? sourceAddressesFor(streams));
const redisUrl = flags['redis-url']!;
assertLoopback(redisUrl);
const here = dirname(fileURLToPath(import.meta.url));
const OPEN_CONCURRENCY = Number(flags.concurrency);
const TIMEOUT_MS = 120_000;

/** CPU time (user + system) of a process so far, in ms, from /proc (100 ticks a second). */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/**
 * Busy time of every core so far, in ms, from /proc/stat (user nice system idle iowait irq
 * softirq steal, 100 ticks a second): less the server's, the client's and redis-server's, it is
 * what else ran meanwhile (softirq: the loopback's packets; other processes on a shared machine).
 */
function machineBusyMs(): number {
  const fields = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) * 10;
}

interface Client {
  socket: Socket;
  got: boolean;
  /** From connect() to the head's arrival, ms. */
  openMs: number;
}

/** Opens `count` streams, `OPEN_CONCURRENCY` connecting at a time; resolves once all answered 200. */
async function openAll(port: number, count: number, onEvent: () => void): Promise<Client[]> {
  const clients: Client[] = [];
  let next = 0;
  const openOne = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const started = performance.now();
      const socket = connect({
        port,
        host: '127.0.0.1',
        // One address: no bind, connect() picks the port (its search is the cheaper one).
        localAddress: sourceAddresses > 1 ? loopbackSource(n, sourceAddresses) : undefined,
      });
      const client: Client = { socket, got: false, openMs: NaN };
      clients.push(client);
      let text = '';
      let headers = false;
      socket.setEncoding('latin1');
      socket.on('error', reject);
      socket.write(
        `GET /channel/${n} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`,
      );
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (!headers && text.includes('\r\n\r\n')) {
          headers = true;
          client.openMs = performance.now() - started;
          if (!text.startsWith('HTTP/1.1 200')) reject(new Error(text.slice(0, 200)));
          else resolve();
        }
        if (!client.got && text.includes(`data: ${n}\n`)) {
          client.got = true;
          text = '';
          onEvent();
        }
      });
    });
  const worker = async () => {
    while (next < count) await openOne(next++);
  };
  await Promise.all(Array.from({ length: OPEN_CONCURRENCY }, worker));
  return clients;
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + TIMEOUT_MS;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function run(brokerKind: string, redisPid: number | undefined) {
  const keyPrefix = `bench:channels:${process.pid}-${Date.now().toString(36)}:`;
  const server = await RpcChild.start({
    name: `hub-${brokerKind}`,
    script: join(here, 'servers', 'nest-hub-channels.js'),
    core: 0,
    raiseFileLimit: true,
    // e.g. BENCH_SERVER_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"
    nodeFlags: process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean),
    env: {
      BENCH_HUB_BROKER: brokerKind,
      BENCH_HUB_REDIS_URL: redisUrl,
      BENCH_HUB_KEY_PREFIX: keyPrefix,
    },
    log: (line) => console.error(line),
  });
  let delivered = 0;
  try {
    const redisCpu = () => (redisPid === undefined ? NaN : processCpuMs(redisPid));
    const usage0 = await server.call<ServerUsage>('usage');
    const client0 = process.cpuUsage();
    const redis0 = redisCpu();
    const machine0 = machineBusyMs();
    const t0 = performance.now();
    const clients = await openAll(server.port!, streams, () => delivered++);
    console.error(
      `bench: ${brokerKind}: ${streams} answered 200 after ${(performance.now() - t0).toFixed(0)} ms`,
    );
    await until(async () => (await server.call<number>('live')) === streams, 'every stream live');
    const openMs = performance.now() - t0;
    const clientOpen = process.cpuUsage(client0);
    const usage1 = await server.call<ServerUsage>('usage');
    const redis1 = redisCpu();
    const machine1 = machineBusyMs();
    // oxlint-disable-next-line unicorn/no-array-sort -- sorts its own copy (numerically: typed)
    const openLatency = Float64Array.from(clients, (c) => c.openMs).sort();
    const t1 = performance.now();
    const published = await server.call<{ publishMs: number; failed: number }>(
      'publishEach',
      { count: streams },
      TIMEOUT_MS,
    );
    await until(() => delivered === streams, `every client's event (${delivered}/${streams})`);
    const deliverMs = performance.now() - t1;
    const usage2 = await server.call<ServerUsage>('usage');
    const redis2 = redisCpu();
    // A reset, not a FIN: no 15,000 sockets in TIME_WAIT for the next run to step over.
    for (const { socket } of clients) socket.resetAndDestroy();
    return {
      broker: brokerKind,
      streams,
      openMs,
      deliverMs,
      publishFailed: published.failed,
      delivered,
      sourceAddresses,
      openLatencyP50Ms: quantile(openLatency, 0.5),
      openLatencyP99Ms: quantile(openLatency, 0.99),
      serverUserOpenMs: usage1.userMs - usage0.userMs,
      serverSystemOpenMs: usage1.systemMs - usage0.systemMs,
      serverGcOpenMs: usage1.gcMs - usage0.gcMs,
      serverHeapOpenMB: usage1.heapUsed / 2 ** 20,
      clientUserOpenMs: clientOpen.user / 1000,
      clientSystemOpenMs: clientOpen.system / 1000,
      restOfMachineOpenMs:
        machine1 -
        machine0 -
        (usage1.userMs + usage1.systemMs - usage0.userMs - usage0.systemMs) -
        (clientOpen.user + clientOpen.system) / 1000 -
        (redisPid === undefined ? 0 : redis1 - redis0),
      serverCpuOpenMs: usage1.userMs + usage1.systemMs - usage0.userMs - usage0.systemMs,
      serverCpuDeliverMs: usage2.userMs + usage2.systemMs - usage1.userMs - usage1.systemMs,
      redisCpuUsPerStreamOpened: ((redis1 - redis0) * 1000) / streams,
      redisCpuUsPerDeliveredEvent: ((redis2 - redis1) * 1000) / delivered,
    };
  } finally {
    await server.stop();
    if (brokerKind === 'redis') {
      const admin = await connectRedisAdmin(redisUrl);
      await admin.deleteKeys(keyPrefix);
      await admin.close();
    }
  }
}

async function redisServerPid(): Promise<number> {
  const admin = await connectRedisAdmin(redisUrl);
  const pid = admin.processId;
  await admin.close();
  return pid;
}

const rows = [];
const pid = flags.brokers!.includes('redis') ? await redisServerPid() : undefined;
for (const broker of flags.brokers!.split(',')) rows.push(await run(broker, pid));
console.log(
  `\n${streams} streams on ${streams} distinct channels, one instance, clients from ${sourceAddresses} address(es) (redis-server pid ${pid})\n`,
);
console.log(
  '| broker | open all (s) | open latency p50 / p99 (ms) | server CPU open: user / sys / of which GC (ms) | client CPU open: user / sys (ms) | rest of the machine, open (ms) | one event each, all delivered (s) | server CPU deliver (ms) | redis CPU µs per stream opened | redis CPU µs per delivered event |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const redis = r.broker === 'redis';
  console.log(
    `| ${r.broker} | ${(r.openMs / 1000).toFixed(2)} | ${r.openLatencyP50Ms.toFixed(0)} / ${r.openLatencyP99Ms.toFixed(0)} | ${r.serverUserOpenMs.toFixed(0)} / ${r.serverSystemOpenMs.toFixed(0)} / ${r.serverGcOpenMs.toFixed(0)} | ${r.clientUserOpenMs.toFixed(0)} / ${r.clientSystemOpenMs.toFixed(0)} | ${r.restOfMachineOpenMs.toFixed(0)} | ${(r.deliverMs / 1000).toFixed(2)} | ${r.serverCpuDeliverMs.toFixed(0)} | ${redis ? r.redisCpuUsPerStreamOpened.toFixed(1) : '–'} | ${redis ? r.redisCpuUsPerDeliveredEvent.toFixed(1) : '–'} |`,
  );
}
console.log(`\n${JSON.stringify(rows)}`);

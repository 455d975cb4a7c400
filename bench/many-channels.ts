/**
 * Many channels (issue 11 item 1): N streams on N distinct channels (`/channel/<n>`, one channel
 * per user) on one instance, on the memory broker and on Redis; then one publish per channel.
 *
 *   npx tsc -p bench/tsconfig.json && taskset -c 1 node bench/dist/bench/many-channels.js
 *       [--streams 15000] [--brokers memory,redis] [--redis-url redis://127.0.0.1:6379]
 *
 * The server (servers/nest-hub-channels.ts) runs pinned to core 0; this process opens the
 * streams over raw sockets (200 connecting at a time). Measured: the time until every stream's
 * subscription is live (the server counts those whose broker `ready` resolved), the time until
 * every client got its channel's event, the server's CPU, and redis-server's CPU (from
 * /proc/<pid>/stat of the server on the URL's port: the machine's Redis is shared, so other work
 * on it counts too) per delivered event and per opened stream. Keys are deleted afterwards.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { assertLoopback, connectRedisAdmin } from './lib/redis-admin.js';
import { RpcChild } from './lib/rpc.js';

const { values: flags } = parseArgs({
  options: {
    streams: { type: 'string', default: '15000' },
    brokers: { type: 'string', default: 'memory,redis' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
  },
});
const streams = Number(flags.streams);
const redisUrl = flags['redis-url']!;
assertLoopback(redisUrl);
const here = dirname(fileURLToPath(import.meta.url));
const OPEN_CONCURRENCY = 200;
const TIMEOUT_MS = 120_000;

/** CPU time (user + system) of a process so far, in ms, from /proc (100 ticks a second). */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

interface Client {
  socket: Socket;
  got: boolean;
}

/** Opens `count` streams, `OPEN_CONCURRENCY` connecting at a time; resolves once all answered 200. */
async function openAll(port: number, count: number, onEvent: () => void): Promise<Client[]> {
  const clients: Client[] = [];
  let next = 0;
  const openOne = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const client: Client = { socket, got: false };
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
    const cpu0 = await server.call<number>('cpu');
    const redis0 = redisCpu();
    const t0 = performance.now();
    const clients = await openAll(server.port!, streams, () => delivered++);
    console.error(
      `bench: ${brokerKind}: ${streams} answered 200 after ${(performance.now() - t0).toFixed(0)} ms`,
    );
    await until(async () => (await server.call<number>('live')) === streams, 'every stream live');
    const openMs = performance.now() - t0;
    const cpu1 = await server.call<number>('cpu');
    const redis1 = redisCpu();
    const t1 = performance.now();
    const published = await server.call<{ publishMs: number; failed: number }>(
      'publishEach',
      { count: streams },
      TIMEOUT_MS,
    );
    await until(() => delivered === streams, `every client's event (${delivered}/${streams})`);
    const deliverMs = performance.now() - t1;
    const cpu2 = await server.call<number>('cpu');
    const redis2 = redisCpu();
    for (const { socket } of clients) socket.destroy();
    return {
      broker: brokerKind,
      streams,
      openMs,
      deliverMs,
      publishFailed: published.failed,
      delivered,
      serverCpuOpenMs: cpu1 - cpu0,
      serverCpuDeliverMs: cpu2 - cpu1,
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
  `\n${streams} streams on ${streams} distinct channels, one instance (redis-server pid ${pid})\n`,
);
console.log(
  '| broker | open all (s) | one event each, all delivered (s) | server CPU open / deliver (ms) | redis CPU µs per stream opened | redis CPU µs per delivered event |',
);
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.broker} | ${(r.openMs / 1000).toFixed(2)} | ${(r.deliverMs / 1000).toFixed(2)} | ${r.serverCpuOpenMs.toFixed(0)} / ${r.serverCpuDeliverMs.toFixed(0)} | ${r.broker === 'redis' ? r.redisCpuUsPerStreamOpened.toFixed(1) : '–'} | ${r.broker === 'redis' ? r.redisCpuUsPerDeliveredEvent.toFixed(1) : '–'} |`,
  );
}
console.log(`\n${JSON.stringify(rows)}`);

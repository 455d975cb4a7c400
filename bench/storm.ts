/**
 * Issue 11, item 4: the reconnect storm.
 *
 *   npx tsc -p bench/tsconfig.json && node bench/dist/bench/storm.js [--quick] [--clients N]
 *       [--channels 8] [--rate 2] [--redis-url redis://127.0.0.1:6379] [--out FILE]
 *
 * N streams (10,000; 1,000 with --quick) are open on instance A, spread over a few channels;
 * a publisher instance publishes at a steady rate on every channel all along; A gets a SIGTERM
 * (Nest's shutdown hook: `app.close()`, which ends every stream with the jittered `retry:`
 * hint), and every client reconnects, after the hint, with its `Last-Event-ID` to instance B,
 * started beforehand. Measured: the time until every client has resumed (its first event from
 * B), B's peak CPU and RSS, and, per client, the events lost and duplicated against its
 * channel's published sequence (both must be 0). Bounded: it stops by itself (~1–2 minutes).
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connectRedisAdmin, type RedisAdmin } from './lib/redis-admin.js';
import { RpcChild, startTracked } from './lib/rpc.js';
import type { PublishResult, ServerStats } from './lib/server-kit.js';
import { monotonicUs } from './lib/storm-client.js';
import { ProcSampler } from './lib/storm-sampler.js';

const here = dirname(fileURLToPath(import.meta.url));

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    clients: { type: 'string' },
    channels: { type: 'string' },
    /** Events per second on each channel. */
    rate: { type: 'string' },
    'redis-url': { type: 'string' },
    out: { type: 'string' },
    'server-flags': { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});

const clients = Number(flags.clients ?? (flags.quick ? 1000 : 10_000));
const channels = Number(flags.channels ?? 8);
const rate = Number(flags.rate ?? 2);
const redisUrl = flags['redis-url'] ?? 'redis://127.0.0.1:6379';
/** Steady publishing before A is closed, and after every client resumed. */
const BEFORE_CLOSE_MS = 3000;
const AFTER_RESUME_MS = 2000;
/** The storm must be over within this (the retry hints alone spread it over 1–5 s). */
const STORM_TIMEOUT_MS = 90_000;
const keyPrefix = `bench:storm:${process.pid}-${Date.now().toString(36)}:`;
const outFile = flags.out === undefined ? undefined : resolve(flags.out);

const log = (line: string) => {
  if (flags.verbose || /error|warn|exception|fail/i.test(line)) console.error(line);
};
const say = (line: string) => console.error(`storm: ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const uptime = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

let admin: RedisAdmin;
try {
  admin = await connectRedisAdmin(redisUrl);
} catch (error) {
  // Two instances resume each other's streams only through a shared broker: without Redis
  // there is no storm to measure.
  console.error(
    `storm: Redis at ${redisUrl} is unreachable (${(error as Error).message}): the reconnect storm ` +
      'needs a broker shared by two instances; start redis-server on 127.0.0.1:6379 or pass --redis-url. Skipped.',
  );
  process.exit(process.env.CI === 'true' ? 1 : 0);
}

const cores = availableParallelism();
const [serverCore, loadCore] = cores >= 2 ? [0, 1] : [0, 0];
const live = new Set<RpcChild>();
async function start(name: string, script: string, core: number, env: Record<string, string>) {
  const nodeFlags = [
    '--expose-gc',
    ...(script.startsWith('servers/')
      ? (flags['server-flags']?.split(' ').filter(Boolean) ?? [])
      : ['--max-old-space-size=2048']),
  ];
  return startTracked(live, {
    name,
    script: join(here, script),
    core,
    nodeFlags,
    env,
    raiseFileLimit: true,
    log,
  });
}
async function cleanUp(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop()));
  await admin.deleteKeys(keyPrefix).catch(() => 0);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanUp().then(() => process.exit(130)));
}

const env = {
  BENCH_STORM_REDIS_URL: redisUrl,
  BENCH_STORM_KEY_PREFIX: keyPrefix,
  BENCH_STORM_CHANNELS: String(channels),
};
const stats = (c: RpcChild, collect = false) => c.call<ServerStats>('stats', { collect });
const loadBefore = uptime();
const startedAt = new Date();
const began = performance.now();

say(
  `${clients} clients on ${channels} channels, ${rate} events/s each; load average ${loadBefore}`,
);
const b = await start('B', 'servers/nest-storm.js', serverCore, env);
const a = await start('A', 'servers/nest-storm.js', serverCore, env);
const publisher = await start('publisher', 'servers/nest-storm.js', loadCore, {
  ...env,
  BENCH_STORM_ROLE: 'publisher',
});
const load = await start('load', 'storm-load.js', loadCore, {});
say(`pids: A ${a.pid}, B ${b.pid}, publisher ${publisher.pid}, load ${load.pid}`);

let result: Record<string, unknown>;
try {
  const opened = await load.call<{ ms: number; ok: number; statuses: Record<string, number> }>(
    'open',
    { port: a.port, count: clients, concurrency: 200, reconnectPort: b.port, channels },
    180_000,
  );
  if (opened.ok !== clients) {
    throw new Error(
      `opened ${opened.ok} of ${clients} streams on A: ${JSON.stringify(opened.statuses)}`,
    );
  }
  for (let waited = 0; (await stats(a)).subscribers < clients; waited += 50) {
    if (waited > 30_000) throw new Error('the streams on A were not all subscribed within 30 s');
    await sleep(50);
  }
  say(`${clients} streams open on A in ${(opened.ms / 1000).toFixed(1)} s`);
  const bBefore = await stats(b, true);

  // The publisher publishes in slices of one second, until told to stop: a steady rate that
  // lasts as long as the storm does.
  const perSecond = rate * channels;
  let nextSeq = 0;
  const control = { publishing: true };
  const publishResults: PublishResult[] = [];
  const publishLoop = (async () => {
    while (control.publishing) {
      const r = await publisher.call<PublishResult>(
        'publish',
        { first: nextSeq, count: perSecond, size: 100, intervalMs: 1000 / perSecond },
        30_000,
      );
      publishResults.push(r);
      nextSeq += perSecond;
    }
  })();
  await sleep(BEFORE_CLOSE_MS);

  const redisBefore = await admin.sample();
  const sampler = new ProcSampler({
    B: b.pid!,
    A: a.pid!,
    load: load.pid!,
    publisher: publisher.pid!,
  });
  const closedAtUs = monotonicUs();
  const closeStarted = performance.now();
  const aExited = a.exited.then(() => performance.now() - closeStarted);
  a.process.kill('SIGTERM');
  let progress: Record<string, number> = {};
  for (;;) {
    progress = await load.call<Record<string, number>>('progress');
    if (progress.resumed! + progress.gaveUp! >= clients) break;
    if (performance.now() - closeStarted > STORM_TIMEOUT_MS) break;
    await sleep(100);
  }
  const stormMs = performance.now() - closeStarted;
  say(`storm over after ${(stormMs / 1000).toFixed(1)} s: ${JSON.stringify(progress)}`);
  await sleep(AFTER_RESUME_MS);
  control.publishing = false;
  await publishLoop;
  const lastSeq = nextSeq - 1;
  const drained = await load.call<{ behind: number; ms: number }>(
    'drain',
    { lastSeq, timeoutMs: 20_000 },
    30_000,
  );
  const sampled = sampler.stop();
  const redisAfter = await admin.sample();
  const aCloseMs = await Promise.race([aExited, sleep(10_000).then(() => NaN)]);
  const bAfter = await stats(b, true);
  const tally = await load.call<Record<string, unknown> & { ids: Record<string, string> }>(
    'tally',
    { closedAtUs, lastSeq },
    60_000,
  );
  const published = ((await stats(publisher)).extra.ids ?? []) as Array<string | null>;
  // Every seq up to the last has one id, and the clients saw that very id.
  let idsDiffer = 0;
  let unpublished = 0;
  for (let seq = 0; seq <= lastSeq; seq++) {
    if (typeof published[seq] !== 'string') unpublished++;
    else if (tally.ids[seq] !== undefined && tally.ids[seq] !== published[seq]) idsDiffer++;
  }
  const { ids: _ids, ...clientTally } = tally;
  result = {
    clients,
    channels,
    ratePerChannel: rate,
    openMs: opened.ms,
    published: lastSeq + 1,
    publishErrors: publishResults.reduce((n, r) => n + (r.publishErrors ?? 0), 0),
    unpublished,
    idsDifferFromPublished: idsDiffer,
    stormMs,
    aCloseMs,
    drained,
    ...clientTally,
    b: {
      rssBefore: bBefore.rss,
      rssAfterGc: bAfter.rss,
      streamsAfter: bAfter.subscribers,
      ...sampled.processes.B,
    },
    processes: sampled.processes,
    othersCores: sampled.othersCores,
    sampledSeconds: sampled.seconds,
    redisCpuMs: redisAfter.cpuMs - redisBefore.cpuMs,
    redisCommands: redisAfter.commands - redisBefore.commands,
  };
} finally {
  await cleanUp();
}
const keysLeft = (await admin.keys(keyPrefix)).length;
await admin.close();

// oxlint-disable-next-line typescript/no-explicit-any -- a report of the JSON just made
const r = result as Record<string, any>;
const f = (v: number, d = 0) =>
  Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: d }) : '–';
const mib = (v: number) => f(v / 2 ** 20, 1);
const ok = (v: number) => (v === 0 ? '0 (met)' : `**${f(v)} (missed)**`);
const lines = [
  `## Reconnect storm (issue 11, item 4)`,
  '',
  `- ${startedAt.toISOString()}, ${((performance.now() - began) / 1000).toFixed(0)} s in all; load average ${loadBefore} before, ${uptime()} after (the machine is shared; other work used ${f(r.othersCores, 2)} cores on average during the storm)`,
  `- command: \`node bench/dist/bench/storm.js ${process.argv.slice(2).join(' ')}\`; Redis ${admin.version} at ${redisUrl}, key prefix \`${keyPrefix}\` (${keysLeft} keys left after)`,
  `- A and B: \`servers/nest-storm.ts\` (SseHub on \`redisBroker()\`, module defaults: \`retry:\` hint ${'1000 + [0, 4000)'} ms at shutdown), both on core ${serverCore}; publisher and load generator on core ${loadCore}`,
  '',
  '| Metric | Value |',
  '|---|---:|',
  `| streams on A, then on B | ${f(r.clients)} on ${r.channels} channels |`,
  `| publishing | ${r.ratePerChannel} events/s per channel (${f(r.ratePerChannel * r.channels)}/s in all, ${f(r.ratePerChannel * r.clients)} deliveries/s), ${f(r.published)} events, ${f(r.publishErrors)} publish errors |`,
  `| time until all resumed (from SIGTERM to each client's first event from B): p50 / p99 / max (s) | ${f(r.resumedMs.p50 / 1000, 2)} / ${f(r.resumedMs.p99 / 1000, 2)} / ${f(r.resumedMs.max / 1000, 2)} |`,
  `| … streams ended by A (after SIGTERM): p50 / max (ms) | ${f(r.endedMs.p50)} / ${f(r.endedMs.max)} |`,
  `| … \`retry:\` hint the clients got: min / p50 / max (ms) | ${f(r.retryHintMs.min)} / ${f(r.retryHintMs.p50)} / ${f(r.retryHintMs.max)} |`,
  `| … from a client's reconnect (after its hint) to its first event: p50 / p99 / max (ms) | ${f(r.reconnectToResumeMs.p50)} / ${f(r.reconnectToResumeMs.p99)} / ${f(r.reconnectToResumeMs.max)} |`,
  `| … A's \`app.close()\` until its process exited (s) | ${f(r.aCloseMs / 1000, 2)} |`,
  `| clients resumed on B / gave up | ${f(r.resumed)} / ${f(r.gaveUp)} (${f(r.failedAttempts)} failed attempts) |`,
  `| B: peak CPU (cores, over 250 ms windows) / mean during the storm | ${f(r.b.peakCores, 2)} / ${f(r.b.meanCores, 2)} |`,
  `| B: peak RSS (MiB); before the storm; after, with every stream, after GC | ${mib(r.b.peakRss)}; ${mib(r.b.rssBefore)}; ${mib(r.b.rssAfterGc)} |`,
  `| redis-server CPU during the storm (ms); commands | ${f(r.redisCpuMs)}; ${f(r.redisCommands)} |`,
  `| events lost (must be 0): in all / clients with any / max per client | ${ok(r.lost)} / ${f(r.clientsWithLoss)} / ${f(r.maxLostPerClient)} |`,
  `| events duplicated (must be 0): in all / clients with any / max per client | ${ok(r.duplicated)} / ${f(r.clientsWithDuplicates)} / ${f(r.maxDuplicatedPerClient)} |`,
  `| ids that differ from the publisher's (per seq, across clients) | ${ok(r.idsDifferFromPublished + r.idMismatches)} |`,
  `| events received in all; clients behind at the end | ${f(r.events)}; ${f(r.drained.behind)} |`,
  '',
];
if (r.sample)
  lines.push(`First client with a loss or duplicate: \`${JSON.stringify(r.sample)}\``, '');
const markdown = lines.join('\n');
console.log(markdown);
writeFileSync(join(here, '..', 'storm.json'), JSON.stringify(result, null, 2));
if (outFile !== undefined) writeFileSync(outFile, markdown);
say(
  `done; numbers in ${join('bench', 'dist', 'storm.json')}${outFile ? `, Markdown in ${outFile}` : ''}`,
);

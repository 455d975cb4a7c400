/**
 * Churn side by side (issue 11, item 4): the server CPU per cycle (connect, one event, close)
 * of the smallest hand-written Nest handler (servers/nest-minimal.ts) and of nestjs-event-stream
 * (servers/nest-event-stream.ts), measured in one run, in alternating batches.
 *
 *   npx tsc -p bench/tsconfig.json && node bench/dist/bench/churn-paired.js
 *       [--servers minimal,ours,name=path/to/server.js] [--warmup 10000] [--batch 1000]
 *       [--rounds 30] [--concurrency 32 | 1,8,32] [--server-flags=--trace-gc] [--out path]
 *
 * Why not one server after the other (`run.js --only churn --servers minimal,ours`): on this
 * shared 2-core machine a core's speed drifts between modes for minutes at a time, and the same
 * server's CPU per cycle moved from 236 to 350 µs between runs of the same code. Two servers
 * measured minutes apart take different modes, and their ratio moved from 1.02x to 1.37x with
 * nothing changed. Here every server starts at once, on the same core (0); each is warmed with
 * `--warmup` cycles (V8 tiers a function up after thousands of calls); then each round runs one
 * batch of `--batch` cycles against each server in turn, the order reversed every round, so the
 * two batches of a round are seconds apart and see the same machine. A batch's CPU is the
 * server's own (`process.cpuUsage()`, every thread) from before the batch until it has let go
 * of every stream, so the teardown is in. The load generator (load.js, core 1) is the one the
 * other scenarios use. Reported: each server's mean, the ratio of the means, and the paired
 * ratios of the rounds (median, quartiles). Only what this starts is stopped, by PID.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseChurnServers } from './lib/churn-servers.js';
import { RpcChild, startTracked } from './lib/rpc.js';
import type { ServerStats } from './lib/server-kit.js';

const { values: flags } = parseArgs({
  options: {
    servers: { type: 'string', default: 'minimal,ours' },
    warmup: { type: 'string', default: '10000' },
    batch: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '32' },
    out: { type: 'string' },
    /** More node flags for every server (`--trace-gc-nvp`, for one). */
    'server-flags': { type: 'string', default: '' },
    verbose: { type: 'boolean', default: false },
  },
});
const here = dirname(fileURLToPath(import.meta.url));
const parsed = parseChurnServers(flags.servers);
if ('unknown' in parsed) fail(`unknown server "${parsed.unknown}"`);
const servers = parsed.map((server) => server.name);
const warmup = Number(flags.warmup);
const batch = Number(flags.batch);
const rounds = Number(flags.rounds);
// Several levels (`1,8,32`) are measured one after the other, each warmed and alternated anew.
const levels = flags.concurrency.split(',').map(Number);
if (servers.length < 2) fail('--servers: two or more, the first is the baseline');
if (!(batch >= 1 && rounds >= 1 && warmup >= 0 && levels.every((c) => Number.isInteger(c) && c >= 1))) {
  fail('--batch, --rounds, --concurrency: 1 or more; --warmup: 0 or more');
}

function fail(message: string): never {
  console.error(`churn-paired: ${message}`);
  process.exit(1);
}

interface ChurnResult {
  ok: number;
  failures: Record<string, number>;
}

const live = new Set<RpcChild>();
const log = (line: string) => {
  if (flags.verbose || /error|warn|exception|fail/i.test(line)) console.error(line);
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.all([...live].map((child) => child.stop())).then(() => process.exit(130));
  });
}

const loadCore = cpus().length >= 2 ? 1 : 0;

const stats = (server: RpcChild) => server.call<ServerStats>('stats', { collect: false });

/** Until the server counts no stream and no socket: every cycle's teardown has run. */
async function settle(server: RpcChild): Promise<ServerStats> {
  const started = performance.now();
  for (;;) {
    const current = await stats(server);
    if (current.subscribers === 0 && current.sockets === 0) return current;
    if (performance.now() - started > 10_000) {
      throw new Error(`${server.name} did not let go of its streams within 10 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let failedCycles = 0;

/** One batch of cycles against `server`; its CPU per cycle in µs. */
async function churn(
  load: RpcChild,
  server: RpcChild,
  cycles: number,
  concurrency: number,
): Promise<number> {
  const before = await stats(server);
  const result = await load.call<ChurnResult>('churn', {
    port: server.port,
    path: '/churn',
    cycles,
    concurrency,
  });
  const after = await settle(server);
  if (result.ok !== cycles) {
    failedCycles += cycles - result.ok;
    console.error(`churn-paired: ${server.name}: ${JSON.stringify(result.failures)}`);
  }
  return ((after.cpuMs - before.cpuMs) * 1000) / cycles;
}

// Interpolated between ranks (pool.ts's quantile takes the nearest rank, for latency samples).
const quantile = (values: number[], q: number) => {
  const sorted = values.toSorted((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low]! + (sorted[Math.min(low + 1, sorted.length - 1)]! - sorted[low]!) * (at - low);
};
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** Warms every server at `concurrency`, then alternates batches: the lines of its table. */
async function measure(
  children: RpcChild[],
  load: RpcChild,
  concurrency: number,
): Promise<string[]> {
  for (const server of children) await churn(load, server, warmup, concurrency);
  const failedBefore = failedCycles;
  const perCycle: Record<string, number[]> = Object.fromEntries(servers.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    // The order turns every round: neither server always runs first after the other.
    const order = round % 2 === 0 ? children : children.toReversed();
    for (const server of order) {
      perCycle[server.name]!.push(await churn(load, server, batch, concurrency));
    }
    if (flags.verbose) {
      console.error(
        `concurrency ${concurrency}, round ${round + 1}: ${servers.map((n) => `${n} ${perCycle[n]!.at(-1)!.toFixed(1)}`).join(', ')} µs/cycle`,
      );
    }
  }
  const [baseline] = servers as [string];
  const lines = [
    `Concurrency ${concurrency}: ${rounds} rounds of ${batch.toLocaleString('en-US')} cycles per server, alternating, after ${warmup.toLocaleString('en-US')} warm-up cycles each; failed cycles: ${failedCycles - failedBefore}.`,
    '',
    `| server | mean µs/cycle | median | min – max | / ${baseline}: ratio of means | median of paired ratios | paired ratios, quartiles | rounds above ${baseline} |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const base = perCycle[baseline]!;
  for (const name of servers) {
    const values = perCycle[name]!;
    const paired = values.map((v, i) => v / base[i]!);
    const row = [
      name,
      mean(values).toFixed(1),
      quantile(values, 0.5).toFixed(1),
      `${Math.min(...values).toFixed(0)} – ${Math.max(...values).toFixed(0)}`,
    ];
    if (name === baseline) row.push('', '', '', '');
    else {
      row.push(
        `${(mean(values) / mean(base)).toFixed(3)}×`,
        `${quantile(paired, 0.5).toFixed(3)}×`,
        `${quantile(paired, 0.25).toFixed(3)} – ${quantile(paired, 0.75).toFixed(3)}`,
        `${paired.filter((r) => r > 1).length} of ${rounds}`,
      );
    }
    lines.push(`| ${row.join(' | ')} |`);
  }
  return lines;
}

try {
  const children = await Promise.all(
    parsed.map(({ name, script }) =>
      startTracked(live, {
        name,
        script,
        core: 0,
        nodeFlags: ['--expose-gc', ...flags['server-flags'].split(' ').filter(Boolean)],
        raiseFileLimit: true,
        log,
      }),
    ),
  );
  const load = await startTracked(live, {
    name: 'load',
    script: resolvePath(here, 'load.js'),
    core: loadCore,
    nodeFlags: ['--max-old-space-size=2048'],
    raiseFileLimit: true,
    log,
  });
  const report = [
    `Churn side by side (\`bench/churn-paired.ts\`), ${new Date().toISOString()}: servers ${servers.join(', ')} on core 0, the load generator on core ${loadCore}; Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} before.`,
    '',
  ];
  for (const concurrency of levels) report.push(...(await measure(children, load, concurrency)), '');
  console.log(report.join('\n'));
  if (flags.out !== undefined) writeFileSync(flags.out, report.join('\n'));
  if (failedCycles > 0) process.exitCode = 1;
} finally {
  await Promise.all([...live].map((child) => child.stop()));
}

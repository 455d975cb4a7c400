/**
 * Runs every scenario against the three servers and writes bench/RESULTS.md.
 *
 *   npx tsc -p bench/tsconfig.json && node bench/dist/bench/run.js [--quick] [--runs N]
 *       [--only fanout-small,fanout-large,idle,slow,churn,hub-memory,hub-redis,hub-cross,
 *               storm,capacity,cluster]
 *       [--servers raw,builtin,ours,otel,minimal] [--out path]   (otel: ours with an OpenTelemetry SDK)
 *   node bench/dist/bench/run.js --hub     # the hub group alone (memory, Redis, 2 instances);
 *                                          # its section of RESULTS.md is replaced in place
 *   node bench/dist/bench/run.js --platform fastify|h2 [--h2-sessions 10]
 *                                          # a platform group (lib/platform-report.ts); its
 *                                          # section of RESULTS.md is replaced in place
 *
 * Each run of a scenario starts a fresh server pinned to core 0 and a fresh load generator
 * pinned to core 1; both are stopped by PID when the run ends, whatever happened.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type AllResults,
  type Outcome,
  renderReport,
  type ScenarioKey,
  SERVER_LABELS,
  type ServerKey,
} from './lib/report.js';
import {
  HUB_BEGIN,
  HUB_END,
  HUB_LABELS,
  type HubOutcome,
  type HubResults,
  renderHubSection,
} from './lib/hub-report.js';
import {
  hubFanout,
  type HubInstance,
  type HubResult,
  type HubVariant,
} from './lib/hub-scenarios.js';
import { connectRedisAdmin, type RedisAdmin } from './lib/redis-admin.js';
import {
  platformBegin,
  platformEnd,
  PLATFORM_GROUPS,
  type PlatformKey,
  platformSections,
  renderPlatformSection,
  replaceSection,
} from './lib/platform-report.js';
import { RpcChild, startTracked } from './lib/rpc.js';
import {
  churn,
  type CpuShares,
  fanout,
  idle,
  type Session,
  slowConsumer,
} from './lib/scenarios.js';

const here = dirname(fileURLToPath(import.meta.url));
/** bench/ in the source tree: this file runs from bench/dist/bench/. */
const benchDir = resolve(here, '..', '..');
const repoDir = resolve(benchDir, '..');

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string' },
    servers: { type: 'string' },
    out: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    /** A run during which other processes used more cores than this is run again. */
    'max-others': { type: 'string' },
    retries: { type: 'string' },
    /** Extra Node flags for the servers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
    'server-flags': { type: 'string' },
    /** The hub group alone: hub-memory, hub-redis, hub-cross. */
    hub: { type: 'boolean', default: false },
    /** Redis for the hub group (127.0.0.1 only). */
    'redis-url': { type: 'string' },
    /** The core of instance B in the cross-instance variant (A is on the servers' core). */
    'hub-b-core': { type: 'string' },
    /** A platform group instead of the Express one: fastify (HTTP/1.1) or h2 (h2c). */
    platform: { type: 'string' },
    /** HTTP/2 sessions the h2 group's streams are spread over. */
    'h2-sessions': { type: 'string' },
  },
});

// --- platform groups (lib/platform-report.ts) ------------------------------------------
const platform = (flags.platform ?? 'express') as PlatformKey;
if (platform !== 'express' && !(platform in PLATFORM_GROUPS)) {
  console.error(`bench: --platform: express, fastify or h2, not "${platform}"`);
  process.exit(1);
}
const platformGroup = platform === 'express' ? undefined : PLATFORM_GROUPS[platform];
const h2SessionCount = Number(flags['h2-sessions'] ?? 10);
// ----------------------------------------------------------------------------------------

const sizes = flags.quick
  ? {
      clients: 200,
      smallEvents: 200,
      largeEvents: 50,
      idle: 1000,
      slowEvents: 30_000,
      churnCycles: 500,
    }
  : {
      clients: 1000,
      smallEvents: 200,
      largeEvents: 50,
      idle: 5000,
      slowEvents: 100_000,
      churnCycles: 2000,
    };
const runs = Number(flags.runs ?? (flags.quick ? 1 : 3));
const maxOthers = Number(flags['max-others'] ?? 0.5);
const RETRY_BUDGET_MS = 6 * 60_000;
/**
 * The hub group comes after the other scenarios, whose retries may use the 6 minutes: it has a
 * budget of its own, from its start, so that a disturbed hub run is still repeated.
 */
const HUB_RETRY_BUDGET_MS = 90_000;
/** Scenarios whose numbers are rates, which other work on the machine distorts. */
const RETRIED = new Set<ScenarioKey>(['fanout-small', 'fanout-large', 'churn']);
const retries = Number(flags.retries ?? 2);
const ALL_SCENARIOS: ScenarioKey[] = ['fanout-small', 'fanout-large', 'idle', 'slow', 'churn'];
const HUB_VARIANTS: HubVariant[] = ['hub-memory', 'hub-redis', 'hub-cross'];
/**
 * Whether a run without --only or --hub includes the hub group. It adds about 2.5 minutes
 * (3 runs of 3 variants, ~15 s each) to the ~6 of the other scenarios.
 */
const HUB_IN_FULL_RUN = true;
const requested =
  flags.only?.split(',') ??
  platformGroup?.scenarios ??
  (flags.hub ? HUB_VARIANTS : [...ALL_SCENARIOS, ...(HUB_IN_FULL_RUN ? HUB_VARIANTS : [])]);
/**
 * Issue 11's scenarios have entry points of their own (they start their own processes): with
 * `--only storm,capacity,cluster` they run as children of this one, and their sections are added
 * to the report. They are not part of the full run (each takes 1–2 minutes).
 */
const ENTRY_POINTS: Record<string, string> = {
  storm: 'storm.js',
  capacity: 'capacity.js',
  cluster: 'cluster.js',
};
/** Where an entry point's section is in RESULTS.scale.md: replaced in place by its next run. */
const scaleBegin = (scenario: string) => `<!-- scale-${scenario}:begin -->`;
const scaleEnd = (scenario: string) => `<!-- scale-${scenario}:end -->`;
const entryScenarios = requested.filter((s) => s in ENTRY_POINTS);
const scenarios = requested.filter(
  (s) => !HUB_VARIANTS.includes(s as HubVariant) && !(s in ENTRY_POINTS),
) as ScenarioKey[];
const hubVariants = requested.filter((s) => HUB_VARIANTS.includes(s as HubVariant)) as HubVariant[];
const redisUrl = flags['redis-url'] ?? 'redis://127.0.0.1:6379';
/** Every Redis key this process makes starts with this. */
const runKeyPrefix = `bench:hub:${process.pid}-${Date.now().toString(36)}-`;
const servers = (flags.servers?.split(',') ??
  platformGroup?.servers ?? ['raw', 'builtin', 'ours']) as ServerKey[];
const outFile = resolve(
  flags.out ?? join(benchDir, flags.quick ? 'RESULTS.quick.md' : 'RESULTS.md'),
);

const SCRIPTS: Record<ServerKey, string> = {
  raw: 'servers/raw.js',
  builtin: 'servers/nest-builtin.js',
  ours: 'servers/nest-event-stream.js',
  otel: 'servers/nest-event-stream-otel.js',
  /** Only when asked for (`--servers minimal,builtin,ours`): issue 11's churn floor. */
  minimal: 'servers/nest-minimal.js',
  'fastify-sse': 'servers/fastify-sse.js',
  'fastify-builtin': 'servers/fastify-nest-builtin.js',
  'fastify-ours': 'servers/fastify-nest-event-stream.js',
  'h2-raw': 'servers/h2-raw.js',
  'h2-fastify': 'servers/h2-fastify-raw.js',
  'h2-ours': 'servers/h2-nest-event-stream.js',
};

for (const s of scenarios) if (!ALL_SCENARIOS.includes(s)) fail(`unknown scenario "${s}"`);
if (flags.hub && flags.only !== undefined) fail('--hub and --only: choose one');
if (platformGroup && (flags.hub || hubVariants.length > 0))
  fail('--platform: not with the hub group');
if (!(Number.isInteger(h2SessionCount) && h2SessionCount >= 1)) fail('--h2-sessions: 1 or more');
try {
  if (new URL(redisUrl).hostname !== '127.0.0.1') fail(`--redis-url: 127.0.0.1 only (${redisUrl})`);
} catch {
  fail(`--redis-url: not a URL (${redisUrl})`);
}
for (const s of servers)
  if (!(s in SCRIPTS)) fail(`unknown server "${s}" (${Object.keys(SCRIPTS).join(', ')})`);
if (!(runs >= 1)) fail('--runs must be at least 1');

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(1);
}

function shell(command: string): string {
  try {
    return execFileSync('sh', ['-c', command], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

// --- preconditions ---------------------------------------------------------------------

if (shell('command -v taskset') === '') {
  fail('taskset is missing: install util-linux (apt-get install -y util-linux).');
}
const cores = availableParallelism();
const [serverCore, loadCore] = cores >= 2 ? [0, 1] : [0, 0];
const hubBCore = Number(flags['hub-b-core'] ?? serverCore);
if (!(Number.isInteger(hubBCore) && hubBCore >= 0 && hubBCore < cores)) {
  fail(`--hub-b-core: a core from 0 to ${cores - 1}`);
}
if (cores < 2) console.error('bench: one CPU only: server and load generator share core 0.');
const hardFiles = Number(shell('ulimit -Hn')) || 0;
const neededFiles = (scenarios.includes('idle') ? sizes.idle : sizes.clients) + 500;
if (shell('ulimit -Hn') !== 'unlimited' && hardFiles < neededFiles) {
  fail(`the open-file limit (ulimit -Hn = ${hardFiles}) is below ${neededFiles}; raise it.`);
}

// --- processes -------------------------------------------------------------------------

const live = new Set<RpcChild>();
const log = (line: string) => {
  if (flags.verbose || /error|warn|exception|fail/i.test(line)) console.error(line);
};

async function start(
  name: string,
  script: string,
  core: number,
  nodeFlags: string[],
  env?: Record<string, string>,
): Promise<RpcChild> {
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

async function stopAll(): Promise<void> {
  await Promise.all([...live].map((child) => child.stop()));
}

let redisAdmin: RedisAdmin | undefined;

/** Deletes every key this process made in Redis (each run deletes its own as it ends, too). */
async function deleteRunKeys(): Promise<number> {
  return (await redisAdmin?.deleteKeys(runKeyPrefix).catch(() => 0)) ?? 0;
}

/** The entry point running now (issue 11's): it stops its own processes on a SIGTERM. */
let entryChild: ChildProcess | undefined;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`bench: ${signal}, stopping ${live.size} process(es)`);
    entryChild?.kill('SIGTERM');
    void stopAll()
      .then(deleteRunKeys)
      .then(() => process.exit(130));
  });
}

async function session<T>(server: ServerKey, body: (s: Session) => Promise<T>): Promise<T> {
  const serverFlags = ['--expose-gc', ...(flags['server-flags']?.split(' ').filter(Boolean) ?? [])];
  const serverProcess = await start(server, SCRIPTS[server], serverCore, serverFlags);
  let loadProcess: RpcChild | undefined;
  try {
    loadProcess = await start('load', 'load.js', loadCore, ['--max-old-space-size=2048']);
    const crashed = serverProcess.exited.then((code) => {
      throw new Error(`the server process exited during the run (code ${code})`);
    });
    crashed.catch(() => undefined);
    return await Promise.race([
      body({
        server: serverProcess,
        load: loadProcess,
        port: serverProcess.port!,
        http2: platformGroup?.http2 ? { sessions: h2SessionCount } : undefined,
      }),
      crashed,
    ]);
  } finally {
    await loadProcess?.stop();
    await serverProcess.stop();
  }
}

const RUNNERS: { [K in ScenarioKey]: (s: Session) => Promise<unknown> } = {
  'fanout-small': (s) =>
    fanout(s, { clients: sizes.clients, events: sizes.smallEvents, size: 100 }),
  'fanout-large': (s) =>
    fanout(s, { clients: sizes.clients, events: sizes.largeEvents, size: 4096 }),
  idle: (s) => idle(s, { connections: sizes.idle }),
  slow: (s) => slowConsumer(s, { events: sizes.slowEvents, size: 1024 }),
  churn: (s) => churn(s, { cycles: sizes.churnCycles }),
};

/** Cores other work used during a run's measurement (0 when not measured, e.g. idle). */
function othersOf(outcome: Outcome<ScenarioKey>): number {
  if ('error' in outcome || !('cpu' in outcome)) return 0;
  return Math.max(0, outcome.cpu.others);
}

/** A number for the progress lines. */
const n = (v: unknown, digits = 0) =>
  typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: digits }) : '?';

function summary(scenario: ScenarioKey, result: Record<string, unknown>): string {
  switch (scenario) {
    case 'fanout-small':
    case 'fanout-large':
      return `${n(result.deliveriesPerSecond)} deliveries/s, p50 ${n(result.p50Ms, 2)} ms, p99 ${n(result.p99Ms, 2)} ms (paced: p50 ${n((result.paced as { p50Ms: number }).p50Ms, 2)}, p99 ${n((result.paced as { p99Ms: number }).p99Ms, 2)} ms), server CPU ${n(result.serverCpuUsPerDelivery, 2)} µs/delivery (cores: server ${n((result.cpu as CpuShares).server, 2)}, load ${n((result.cpu as CpuShares).load, 2)}, others ${n((result.cpu as CpuShares).others, 2)}), missing ${n(result.missing)}, gaps ${n(result.gaps)}`;
    case 'idle':
      return `RSS ${n((result.rssPerConnection as number) / 1024, 1)} KiB/conn, heap ${n((result.heapPerConnection as number) / 1024, 1)} KiB/conn`;
    case 'slow':
      return `peak RSS +${n((result.peakRssGrowth as number) / 2 ** 20, 1)} MiB, held +${n((result.heldHeapAndBuffers as number) / 2 ** 20, 1)} MiB, closed by server: ${String(result.closedByServer)} (before seq ${n(result.firstSeqAfterClose)}), slow client got ${n((result.slow as { bytes: number }).bytes / 2 ** 20, 1)} MiB`;
    case 'churn':
      return `${n(result.cyclesPerSecond)} cycles/s, server CPU ${n(result.serverCpuUsPerCycle)} µs/cycle (cores: server ${n((result.cpu as CpuShares).server, 2)}, load ${n((result.cpu as CpuShares).load, 2)}, others ${n((result.cpu as CpuShares).others, 2)}), heap ${n((result.heapDelta as number) / 1024, 1)} KiB then ${n(result.heapGrowthPerCycleAfter)} B/cycle, handles ${n(result.handleDelta)}, timers ${n(result.timerDelta)}`;
  }
}

// --- the run ---------------------------------------------------------------------------

const startedAt = new Date();
const loadBefore = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const results: AllResults = {};
const benchStarted = performance.now();

for (const scenario of scenarios) {
  const byServer: Partial<Record<ServerKey, Array<Outcome<ScenarioKey>>>> = {};
  (results as Record<string, unknown>)[scenario] = byServer;
  // Servers alternate within each round, so that a change of the machine's load (it is
  // shared) spreads over all three rather than landing on one.
  for (let run = 1; run <= runs; run++) {
    for (const server of servers) {
      let kept: Outcome<ScenarioKey> | undefined;
      let attempts = 0;
      for (let attempt = 1; attempt <= 1 + retries; attempt++) {
        attempts = attempt;
        const started = performance.now();
        let outcome: Outcome<ScenarioKey>;
        try {
          outcome = (await session(server, RUNNERS[scenario])) as Outcome<ScenarioKey>;
        } catch (error) {
          outcome = { error: error instanceof Error ? error.message : String(error) };
        }
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        const line =
          'error' in outcome
            ? `FAILED: ${outcome.error}`
            : summary(scenario, outcome as unknown as Record<string, unknown>);
        const tries = attempt > 1 ? ` attempt ${attempt}` : '';
        console.error(
          `bench: ${scenario} run ${run}/${runs}${tries} ${SERVER_LABELS[server]} (${seconds} s): ${line}`,
        );
        // A run during which other work took much of the machine is run again (a bounded
        // number of times); the least disturbed attempt is kept. Failures are not retried:
        // they are reported.
        if (kept === undefined || othersOf(outcome) < othersOf(kept)) kept = outcome;
        if (
          'error' in outcome ||
          !RETRIED.has(scenario) ||
          !(othersOf(outcome) > maxOthers) ||
          // Retries stop after 6 minutes, so that a busy machine cannot stretch the run.
          performance.now() - benchStarted > RETRY_BUDGET_MS
        ) {
          break;
        }
        if (attempt <= retries) {
          console.error(
            `bench: other work used ${othersOf(outcome).toFixed(2)} cores during that run (> ${maxOthers}): running it again`,
          );
        }
      }
      if (!('error' in kept!)) kept!.attempts = attempts;
      (byServer[server] ??= []).push(kept!);
    }
  }
}
// --- the hub group ---------------------------------------------------------------------

const hubSizes = flags.quick ? { clients: 200, events: 200 } : { clients: 1000, events: 200 };
const hubResults: HubResults = {};

async function hubSession(variant: HubVariant, keyPrefix: string): Promise<HubResult> {
  const serverFlags = ['--expose-gc', ...(flags['server-flags']?.split(' ').filter(Boolean) ?? [])];
  const env: Record<string, string> =
    variant === 'hub-memory'
      ? { BENCH_HUB_BROKER: 'memory' }
      : {
          BENCH_HUB_BROKER: 'redis',
          BENCH_HUB_REDIS_URL: redisUrl,
          BENCH_HUB_KEY_PREFIX: keyPrefix,
        };
  const plan =
    variant === 'hub-cross'
      ? [
          { name: 'A', core: serverCore },
          { name: 'B', core: hubBCore },
        ]
      : [{ name: 'A', core: serverCore }];
  const instances: HubInstance[] = [];
  let loadProcess: RpcChild | undefined;
  try {
    for (const p of plan) {
      const rpc = await start(`hub ${p.name}`, 'servers/nest-hub.js', p.core, serverFlags, env);
      instances.push({ name: p.name, rpc, port: rpc.port!, core: p.core });
    }
    loadProcess = await start('load', 'load.js', loadCore, ['--max-old-space-size=2048']);
    const crashed = Promise.race(
      instances.map((i) =>
        i.rpc.exited.then((code) => {
          throw new Error(`hub instance ${i.name} exited during the run (code ${code})`);
        }),
      ),
    );
    crashed.catch(() => undefined);
    const admin = redisAdmin;
    return await Promise.race([
      hubFanout(
        {
          instances,
          load: loadProcess,
          redisSample:
            variant === 'hub-memory' || admin === undefined ? undefined : () => admin.sample(),
        },
        variant,
        { clients: hubSizes.clients, events: hubSizes.events, size: 100 },
      ),
      crashed,
    ]);
  } finally {
    await loadProcess?.stop();
    await Promise.all(instances.map((i) => i.rpc.stop()));
  }
}

/** Cores other work used during a hub run's measurement (redis-server excluded). */
const hubOthers = (o: HubOutcome) => ('error' in o ? 0 : Math.max(0, o.cpu.others));

function hubSummary(r: HubResult): string {
  const m = r.measured;
  const parts =
    r.instances.length > 1
      ? m.perInstance
          .map(
            (v, i) =>
              `${r.instances[i]!.name} ${n(v.deliveriesPerSecond)}/s p50 ${n(v.p50Ms, 2)} p99 ${n(v.p99Ms, 2)}`,
          )
          .join('; ')
      : '';
  const exact = r.tally.map((t) => `${t.exact}/${t.streams}`).join(' + ');
  return (
    `${n(m.all.deliveriesPerSecond)} deliveries/s, p50 ${n(m.all.p50Ms, 2)} ms, p99 ${n(m.all.p99Ms, 2)} ms` +
    (parts ? ` (${parts})` : '') +
    ` (awaited: ${n(r.awaited.all.deliveriesPerSecond)} deliveries/s, p50 ${n(r.awaited.all.p50Ms, 2)}, p99 ${n(r.awaited.all.p99Ms, 2)} ms; paced: p50 ${n(r.paced.all.p50Ms, 2)}, p99 ${n(r.paced.all.p99Ms, 2)} ms), server CPU ${n(r.serverCpuUsPerDelivery, 2)} µs/delivery` +
    (Number.isFinite(r.redisCpuUsPerEvent)
      ? `, redis ${n(r.redisCpuUsPerEvent, 1)} µs/event, ${n(r.redisCommandsPerEvent, 1)} (awaited: ${n(r.redisCommandsPerEventAwaited, 1)}) commands/event`
      : '') +
    ` (cores: servers ${n(r.cpu.servers, 2)}, load ${n(r.cpu.load, 2)}, redis ${n(r.cpu.redis, 2)}, others ${n(r.cpu.others, 2)}), exactly once: ${exact}` +
    `, publish errors ${n(r.measured.published.publishErrors ?? 0)}`
  );
}

const hubStarted = performance.now();
if (hubVariants.length > 0) {
  if (hubVariants.some((v) => v !== 'hub-memory')) {
    try {
      redisAdmin = await connectRedisAdmin(redisUrl);
    } catch (error) {
      console.error(
        `bench: Redis at ${redisUrl} is unreachable (${(error as Error).message}): the Redis variants fail`,
      );
    }
  }
  for (let run = 1; run <= runs; run++) {
    for (const variant of hubVariants) {
      let kept: HubOutcome | undefined;
      let attempts = 0;
      for (let attempt = 1; attempt <= 1 + retries; attempt++) {
        attempts = attempt;
        const started = performance.now();
        const keyPrefix = `${runKeyPrefix}${variant}-${run}-${attempt}:`;
        let outcome: HubOutcome;
        try {
          if (variant !== 'hub-memory' && redisAdmin === undefined) {
            throw new Error(`Redis at ${redisUrl} is unreachable`);
          }
          outcome = await hubSession(variant, keyPrefix);
        } catch (error) {
          outcome = { error: error instanceof Error ? error.message : String(error) };
        }
        if (variant !== 'hub-memory' && redisAdmin !== undefined) {
          const deleted = await redisAdmin.deleteKeys(keyPrefix).catch(() => NaN);
          const left = (await redisAdmin.keys(keyPrefix).catch(() => [])).length;
          if (!('error' in outcome)) outcome.redisKeys = { deleted, left, prefix: keyPrefix };
        }
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        const line = 'error' in outcome ? `FAILED: ${outcome.error}` : hubSummary(outcome);
        const tries = attempt > 1 ? ` attempt ${attempt}` : '';
        console.error(
          `bench: hub run ${run}/${runs}${tries} ${HUB_LABELS[variant]} (${seconds} s): ${line}`,
        );
        if (kept === undefined || hubOthers(outcome) < hubOthers(kept)) kept = outcome;
        if (
          'error' in outcome ||
          !(hubOthers(outcome) > maxOthers) ||
          performance.now() - hubStarted > HUB_RETRY_BUDGET_MS
        ) {
          break;
        }
        if (attempt <= retries) {
          console.error(
            `bench: other work used ${hubOthers(outcome).toFixed(2)} cores during that run (> ${maxOthers}): running it again`,
          );
        }
      }
      if (!('error' in kept!)) kept!.attempts = attempts;
      (hubResults[variant] ??= []).push(kept!);
    }
  }
}

// --- issue 11's entry points ------------------------------------------------------------

const entrySections: string[] = [];
/** The sections of the entry points that wrote one (a failed one keeps its previous section). */
const scaleSections: Array<{ scenario: string; markdown: string }> = [];
let entryFailed = false;
for (const scenario of entryScenarios) {
  console.error(`bench: ${scenario}: node ${ENTRY_POINTS[scenario]}`);
  const child = spawn(
    process.execPath,
    [
      join(here, ENTRY_POINTS[scenario]!),
      ...(flags.quick ? ['--quick'] : []),
      ...(flags['server-flags'] ? [`--server-flags=${flags['server-flags']}`] : []),
      ...(flags.verbose ? ['--verbose'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  entryChild = child;
  let markdown = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (markdown += text));
  const code = await new Promise<number | null>((done) => child.once('close', done));
  entryChild = undefined;
  // A report of a run that failed in part (cluster.ts reports the rows that failed) is kept,
  // with its exit code; without a report, there is only the failure to say.
  const wrote = markdown.trim() !== '';
  if (code !== 0) entryFailed = true;
  if (wrote) {
    const note = code === 0 ? '' : `\n**${scenario} exited with code ${code}**; see stderr.\n`;
    scaleSections.push({ scenario, markdown: markdown.trimEnd() + '\n' + note });
  }
  entrySections.push(
    wrote
      ? scaleSections[scaleSections.length - 1]!.markdown
      : `## ${scenario}\n\n**failed** (exit code ${code}); see stderr.\n`,
  );
}
if (entryScenarios.length > 0 && scenarios.length === 0 && hubVariants.length === 0) {
  // Alone: each entry point's section of the file is replaced in place (or added at the end),
  // and the rest of the file, notes and profiles written by hand, is kept.
  const target = resolve(
    flags.out ?? join(benchDir, flags.quick ? 'RESULTS.scale.quick.md' : 'RESULTS.scale.md'),
  );
  let text = existsSync(target) ? readFileSync(target, 'utf8') : '';
  for (const { scenario, markdown } of scaleSections) {
    const [begin, end] = [scaleBegin(scenario), scaleEnd(scenario)];
    text = replaceSection(text, begin, end, `${begin}\n${markdown}\n${end}\n`);
  }
  writeFileSync(target, text);
  console.log(entrySections.join('\n'));
  const kept = entryScenarios.filter((s) => !scaleSections.some((w) => w.scenario === s));
  console.error(
    `bench: wrote ${scaleSections.map((w) => w.scenario).join(', ') || 'no section'} in ${relative(process.cwd(), target)}` +
      (kept.length > 0 ? ` (${kept.join(', ')} failed: their previous sections are kept)` : ''),
  );
  process.exit(entryFailed ? 1 : 0);
}

await stopAll();
const strayKeys = await deleteRunKeys();
if (strayKeys > 0) console.error(`bench: deleted ${strayKeys} Redis key(s) left by failed runs`);
await redisAdmin?.close();

const gitHead = shell(`git -C "${repoDir}" rev-parse --short HEAD`);
const srcDirty = shell(`git -C "${repoDir}" status --porcelain -- src`) !== '';
const environment = [
  `${startedAt.toISOString()}, ${((performance.now() - benchStarted) / 1000).toFixed(0)} s in all`,
  `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores; load average ${loadBefore} before, ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} after (the machine is shared)`,
  `library source: commit ${gitHead || 'unknown'}${srcDirty ? ' plus uncommitted changes in src/' : ''}`,
  `command: \`${['node', relative(repoDir, fileURLToPath(import.meta.url)), ...process.argv.slice(2)].join(' ')}\``,
];
const hubSection =
  hubVariants.length === 0
    ? ''
    : renderHubSection(hubResults, {
        clients: hubSizes.clients,
        events: hubSizes.events,
        runs,
        cores: { a: serverCore, b: hubBCore, load: loadCore },
        environment: [
          ...environment,
          ...(redisAdmin ? [`Redis ${redisAdmin.version} at ${redisUrl}`] : []),
        ],
      });

if (platformGroup !== undefined && platform !== 'express') {
  // A platform group: its section of the existing report is replaced (or added at the end),
  // and the rest of the report is kept as it is.
  const section = renderPlatformSection(platform, results, {
    title: platformGroup.title,
    sizes,
    runs,
    environment,
    http2Sessions: h2SessionCount,
  });
  const previous = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '';
  writeFileSync(
    outFile,
    replaceSection(previous, platformBegin(platform), platformEnd(platform), section),
  );
  const jsonFile = join(here, '..', 'results.json');
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(readFileSync(jsonFile, 'utf8')) as Record<string, unknown>;
  } catch {
    // none yet
  }
  writeFileSync(jsonFile, JSON.stringify({ ...json, [`platform-${platform}`]: results }, null, 2));
  console.log(section);
  console.error(`bench: wrote the ${platform} section of ${relative(process.cwd(), outFile)}`);
  process.exit(0);
}

if (scenarios.length === 0) {
  // The hub group alone: its section of the existing report is replaced (or added at the end),
  // and the rest of the report is kept as it is.
  const previous = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '';
  const begin = previous.indexOf(HUB_BEGIN);
  const end = previous.indexOf(HUB_END);
  const merged =
    begin !== -1 && end > begin
      ? previous.slice(0, begin) + hubSection + previous.slice(end + HUB_END.length + 1)
      : (previous === '' ? '' : previous.replace(/\n*$/, '\n\n')) + hubSection;
  writeFileSync(outFile, merged);
  const jsonFile = join(here, '..', 'results.json');
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(readFileSync(jsonFile, 'utf8')) as Record<string, unknown>;
  } catch {
    // none yet
  }
  writeFileSync(jsonFile, JSON.stringify({ ...json, hub: hubResults }, null, 2));
  console.log([hubSection, ...entrySections].join('\n'));
  console.error(`bench: wrote the hub section of ${relative(process.cwd(), outFile)}`);
  process.exit(0);
}

const report = renderReport(results, {
  title: flags.quick ? 'Benchmark results (quick run)' : 'Benchmark results',
  sizes,
  runs,
  environment,
});
const fullReport = [report, hubSection, ...entrySections].filter((s) => s !== '').join('\n');
// The platform groups' sections, run apart (--platform), are kept at the end.
const keptPlatforms = existsSync(outFile) ? platformSections(readFileSync(outFile, 'utf8')) : '';
writeFileSync(outFile, keptPlatforms === '' ? fullReport : `${fullReport}\n${keptPlatforms}`);
writeFileSync(
  join(here, '..', 'results.json'),
  JSON.stringify(hubVariants.length ? { ...results, hub: hubResults } : results, null, 2),
);
console.log(fullReport);
console.error(`bench: wrote ${relative(process.cwd(), outFile)}`);

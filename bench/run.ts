/**
 * Runs every scenario against the three servers and writes bench/RESULTS.md.
 *
 *   npx tsc -p bench/tsconfig.json && node bench/dist/bench/run.js [--quick] [--runs N]
 *       [--only fanout-small,fanout-large,idle,slow,churn] [--servers raw,builtin,ours]
 *       [--out path]
 *
 * Each run of a scenario starts a fresh server pinned to core 0 and a fresh load generator
 * pinned to core 1; both are stopped by PID when the run ends, whatever happened.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
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
import { RpcChild } from './lib/rpc.js';
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
  },
});

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
/** Scenarios whose numbers are rates, which other work on the machine distorts. */
const RETRIED = new Set<ScenarioKey>(['fanout-small', 'fanout-large', 'churn']);
const retries = Number(flags.retries ?? 2);
const ALL_SCENARIOS: ScenarioKey[] = ['fanout-small', 'fanout-large', 'idle', 'slow', 'churn'];
const scenarios = (flags.only?.split(',') ?? ALL_SCENARIOS) as ScenarioKey[];
const servers = (flags.servers?.split(',') ?? ['raw', 'builtin', 'ours']) as ServerKey[];
const outFile = resolve(
  flags.out ?? join(benchDir, flags.quick ? 'RESULTS.quick.md' : 'RESULTS.md'),
);

const SCRIPTS: Record<ServerKey, string> = {
  raw: 'servers/raw.js',
  builtin: 'servers/nest-builtin.js',
  ours: 'servers/nest-event-stream.js',
};

for (const s of scenarios) if (!ALL_SCENARIOS.includes(s)) fail(`unknown scenario "${s}"`);
for (const s of servers) if (!(s in SCRIPTS)) fail(`unknown server "${s}" (raw, builtin, ours)`);
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
): Promise<RpcChild> {
  const child = await RpcChild.start({
    name,
    script: join(here, script),
    core,
    nodeFlags,
    raiseFileLimit: true,
    log,
  });
  live.add(child);
  void child.exited.then(() => live.delete(child));
  return child;
}

async function stopAll(): Promise<void> {
  await Promise.all([...live].map((child) => child.stop()));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`bench: ${signal}, stopping ${live.size} process(es)`);
    void stopAll().then(() => process.exit(130));
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
      body({ server: serverProcess, load: loadProcess, port: serverProcess.port! }),
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
await stopAll();

const gitHead = shell(`git -C "${repoDir}" rev-parse --short HEAD`);
const srcDirty = shell(`git -C "${repoDir}" status --porcelain -- src`) !== '';
const report = renderReport(results, {
  title: flags.quick ? 'Benchmark results (quick run)' : 'Benchmark results',
  sizes,
  runs,
  environment: [
    `${startedAt.toISOString()}, ${((performance.now() - benchStarted) / 1000).toFixed(0)} s in all`,
    `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores; load average ${loadBefore} before, ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} after (the machine is shared)`,
    `library source: commit ${gitHead || 'unknown'}${srcDirty ? ' plus uncommitted changes in src/' : ''}`,
    `command: \`${['node', relative(repoDir, fileURLToPath(import.meta.url)), ...process.argv.slice(2)].join(' ')}\``,
  ],
});
writeFileSync(outFile, report);
writeFileSync(join(here, '..', 'results.json'), JSON.stringify(results, null, 2));
console.log(report);
console.error(`bench: wrote ${relative(process.cwd(), outFile)}`);

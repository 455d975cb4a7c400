import type { HubResult, HubVariant, HubWindowResult, WindowView } from './hub-scenarios.js';
import { PACED_DELIVERIES_PER_SECOND } from './scenarios.js';
import { median } from './report.js';

/** One run of one hub variant: its result, or what went wrong. */
export type HubOutcome = (HubResult & { attempts?: number }) | { error: string };

export type HubResults = Partial<Record<HubVariant, HubOutcome[]>>;

export const HUB_LABELS: Record<HubVariant, string> = {
  'hub-memory': 'memory hub, 1 instance',
  'hub-redis': 'Redis hub, 1 instance',
  'hub-cross': 'Redis, 2 instances',
};

export interface HubReportContext {
  clients: number;
  events: number;
  runs: number;
  /** Cores of instances A and B in the cross-instance variant. */
  cores: { a: number; b: number; load: number };
  environment: string[];
}

/** Marks the section in RESULTS.md, so that `--hub` alone can replace it in place. */
export const HUB_BEGIN = '<!-- hub-and-redis:begin -->';
export const HUB_END = '<!-- hub-and-redis:end -->';

const int = (v: number) => Math.round(v).toLocaleString('en-US');
const ms = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
const us = (v: number) => v.toFixed(1);

const ok = (outcomes: HubOutcome[] | undefined): HubResult[] =>
  (outcomes ?? []).filter((o): o is HubResult => !('error' in o));

type Pick = (r: HubResult) => number;

interface Row {
  metric: string;
  format: (v: number) => string;
  memory?: Pick;
  redis?: Pick;
  /** How Redis compares with memory: a ratio (rates, costs) or a difference (latencies). */
  compare?: 'ratio' | 'difference';
  crossA?: Pick;
  crossB?: Pick;
  crossAll?: Pick;
}

const window = (w: (r: HubResult) => HubWindowResult) => ({
  all:
    (f: (v: WindowView) => number): Pick =>
    (r) =>
      f(w(r).all),
  instance:
    (i: number, f: (v: WindowView) => number): Pick =>
    (r) =>
      f(w(r).perInstance[i]!),
});

const rate = (v: WindowView) => v.deliveriesPerSecond;

const hopMs = (v: number) => (v < 1 ? v.toFixed(3) : ms(v));

/** The broker hop (publish → the first hub listener call on an instance), in ms. */
function hopRow(
  metric: string,
  w: (r: HubResult) => HubWindowResult,
  field: 'p50Ms' | 'p99Ms' | 'maxMs',
): Row {
  return {
    metric,
    format: hopMs,
    memory: (r) => w(r).hop[field],
    redis: (r) => w(r).hop[field],
    compare: 'difference',
    crossA: (r) => w(r).hopPerInstance[0]![field],
    crossB: (r) => w(r).hopPerInstance[1]![field],
    crossAll: (r) => w(r).hop[field],
  };
}

function rows(c: HubReportContext): Row[] {
  const full = window((r) => r.measured);
  const awaited = window((r) => r.awaited);
  const paced = window((r) => r.paced);
  const latency = (
    w: ReturnType<typeof window>,
    metric: string,
    f: (v: WindowView) => number,
  ): Row => ({
    metric,
    format: ms,
    memory: w.all(f),
    redis: w.all(f),
    compare: 'difference',
    crossA: w.instance(0, f),
    crossB: w.instance(1, f),
    crossAll: w.all(f),
  });
  return [
    {
      metric: `hub fan-out ${c.clients} × ${c.events} × 100 B: deliveries/s`,
      format: int,
      memory: full.all(rate),
      redis: full.all(rate),
      compare: 'ratio',
      crossA: full.instance(0, rate),
      crossB: full.instance(1, rate),
      crossAll: full.all(rate),
    },
    {
      metric: '… server CPU per delivery (µs)',
      format: us,
      memory: (r) => r.serverCpuUsPerDelivery,
      redis: (r) => r.serverCpuUsPerDelivery,
      compare: 'ratio',
      crossA: (r) => r.serverCpuUsPerDeliveryPerInstance[0]!,
      crossB: (r) => r.serverCpuUsPerDeliveryPerInstance[1]!,
      crossAll: (r) => r.serverCpuUsPerDelivery,
    },
    {
      metric: '… redis-server CPU per event published (µs)',
      format: us,
      redis: (r) => r.redisCpuUsPerEvent,
      crossAll: (r) => r.redisCpuUsPerEvent,
    },
    latency(full, '… latency p50 (ms)', (v) => v.p50Ms),
    latency(full, '… latency p99 (ms)', (v) => v.p99Ms),
    {
      metric: `… each publish awaited (${c.events} events): deliveries/s`,
      format: int,
      memory: awaited.all(rate),
      redis: awaited.all(rate),
      compare: 'ratio',
      crossA: awaited.instance(0, rate),
      crossB: awaited.instance(1, rate),
      crossAll: awaited.all(rate),
    },
    latency(awaited, '… each publish awaited: latency p50 (ms)', (v) => v.p50Ms),
    latency(awaited, '… each publish awaited: latency p99 (ms)', (v) => v.p99Ms),
    latency(
      paced,
      `… at ${int(PACED_DELIVERIES_PER_SECOND)} deliveries/s: latency p50 (ms)`,
      (v) => v.p50Ms,
    ),
    latency(
      paced,
      `… at ${int(PACED_DELIVERIES_PER_SECOND)} deliveries/s: latency p99 (ms)`,
      (v) => v.p99Ms,
    ),
    hopRow(
      `… at ${int(PACED_DELIVERIES_PER_SECOND)} deliveries/s: broker hop p50 (ms)`,
      (r) => r.paced,
      'p50Ms',
    ),
    hopRow(
      `… at ${int(PACED_DELIVERIES_PER_SECOND)} deliveries/s: broker hop p99 (ms)`,
      (r) => r.paced,
      'p99Ms',
    ),
    hopRow('… at full speed: broker hop p99 (ms)', (r) => r.measured, 'p99Ms'),
    hopRow('… at full speed: broker hop max (ms)', (r) => r.measured, 'maxMs'),
  ];
}

function cell(results: HubResults, variant: HubVariant, pick: Pick | undefined, row: Row) {
  if (pick === undefined) return { value: NaN, text: '' };
  const runs = ok(results[variant]);
  if (runs.length === 0) return { value: NaN, text: variant in results ? 'failed' : '–' };
  const value = median(runs.map(pick));
  return { value, text: Number.isFinite(value) ? row.format(value) : '–' };
}

/** Every stream of every run got every event exactly once, in order: per column. */
function exactly(results: HubResults, variant: HubVariant, instance?: number): string {
  const runs = ok(results[variant]);
  if (runs.length === 0) return variant in results ? 'failed' : '–';
  let streams = 0;
  let exact = 0;
  for (const r of runs) {
    for (const [i, t] of r.tally.entries()) {
      if (instance !== undefined && i !== instance) continue;
      streams += t.streams;
      exact += t.exact;
    }
  }
  const expected = runs.reduce(
    (n, r) =>
      n +
      r.instances.reduce(
        (m, inst, i) => m + (instance === undefined || i === instance ? inst.clients : 0),
        0,
      ),
    0,
  );
  const all = exact === expected && streams === expected;
  return `${all ? 'yes' : '**NO**'}: ${int(exact)}/${int(expected)}`;
}

/** The "Hub and Redis" section of RESULTS.md, between its markers. */
export function renderHubSection(results: HubResults, c: HubReportContext): string {
  const out: string[] = [HUB_BEGIN, '## Hub and Redis', ''];
  out.push(...c.environment.map((line) => `- ${line}`), '');
  const anyRun = [
    ...ok(results['hub-memory']),
    ...ok(results['hub-redis']),
    ...ok(results['hub-cross']),
  ][0];
  const expected = anyRun?.eventsPerStream ?? 20 + c.events + 100;
  out.push(
    `\`SseHub\` fan-out (servers/nest-hub.ts: \`@EventStream('events')\` returning ` +
      `\`hub.stream('bench')\`; events published with \`hub.publish('bench', data)\` on instance A, ` +
      `one per macrotask, each publish's promise awaited at the end). Medians of ${c.runs} run(s); ` +
      `the three variants alternate within each round. ${c.clients} streams: on one instance ` +
      `(\`taskset -c 0\`), or split ${Math.ceil(c.clients / 2)}/${Math.floor(c.clients / 2)} over ` +
      `instance A (\`taskset -c ${c.cores.a}\`, the publisher) and instance B ` +
      `(\`taskset -c ${c.cores.b}\`), which shares the channel through Redis only; the load ` +
      `generator is on core ${c.cores.load}; redis-server is not pinned (its CPU is measured ` +
      'with `INFO cpu`). "Redis vs memory" is a ratio for rates and costs and a difference for ' +
      'latencies: the latency Redis adds.',
    '',
  );
  out.push(
    `| Metric | ${HUB_LABELS['hub-memory']} | ${HUB_LABELS['hub-redis']} | Redis vs memory | 2 instances: streams of A (publisher) | 2 instances: streams of B | 2 instances: all |`,
    '|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const row of rows(c)) {
    const memory = cell(results, 'hub-memory', row.memory, row);
    const redis = cell(results, 'hub-redis', row.redis, row);
    let compare = '';
    if (
      row.compare !== undefined &&
      Number.isFinite(memory.value) &&
      Number.isFinite(redis.value)
    ) {
      compare =
        row.compare === 'ratio'
          ? `${(redis.value / memory.value).toFixed(2)}×`
          : `${redis.value >= memory.value ? '+' : '−'}${row.format(Math.abs(redis.value - memory.value))} ms`;
    }
    const cross = [row.crossA, row.crossB, row.crossAll].map(
      (pick) => cell(results, 'hub-cross', pick, row).text,
    );
    out.push(
      `| ${row.metric} | ${memory.text} | ${redis.text} | ${compare} | ${cross.join(' | ')} |`,
    );
  }
  out.push(
    `| every stream got all ${expected} events exactly once, in order (streams, all runs) | ` +
      `${exactly(results, 'hub-memory')} | ${exactly(results, 'hub-redis')} | | ` +
      `${exactly(results, 'hub-cross', 0)} | ${exactly(results, 'hub-cross', 1)} | ${exactly(results, 'hub-cross')} |`,
  );
  out.push('');
  out.push(...checks(results), ...everyRun(results, c));
  out.push(HUB_END);
  return out.join('\n') + '\n';
}

function checks(results: HubResults): string[] {
  const out = ['### Checks (hub)', ''];
  for (const variant of Object.keys(HUB_LABELS) as HubVariant[]) {
    const outcomes = results[variant];
    if (outcomes === undefined) continue;
    const runs = ok(outcomes);
    const windows = runs.flatMap((r) => [r.warmup, r.measured, r.awaited, r.paced]);
    const sum = (f: (w: HubWindowResult) => number) => windows.reduce((n, w) => n + f(w), 0);
    const issues = [
      ['gaps', sum((w) => w.issues.gaps)],
      ['duplicates', sum((w) => w.issues.duplicates)],
      ['malformed frames', sum((w) => w.issues.malformed)],
      ['wrong-size events', sum((w) => w.issues.wrongSize)],
      ['events missing', sum((w) => w.issues.missing)],
      ['streams closed early', sum((w) => w.issues.closedEarly)],
      ['windows timed out', sum((w) => (w.issues.timedOut ? 1 : 0))],
      ['publishes rejected', sum((w) => w.published.publishErrors ?? 0)],
    ] as const;
    const found = issues.filter(([, n]) => n > 0).map(([what, n]) => `${n} ${what}`);
    const deliveries = runs.reduce(
      (n, r) => n + r.measured.all.deliveries + r.awaited.all.deliveries + r.paced.all.deliveries,
      0,
    );
    const sample = windows.find((w) => w.published.publishErrorSample)?.published
      .publishErrorSample;
    const bad = runs.flatMap((r) => r.tally.filter((t) => t.sample).map((t) => t.sample!));
    out.push(
      `- ${HUB_LABELS[variant]}: ${int(deliveries)} measured deliveries in ${runs.length} run(s), ` +
        (found.length === 0
          ? 'every frame parsed, no gap, no duplicate'
          : `**${found.join(', ')}**`) +
        (sample ? ` (first publish error: ${sample})` : '') +
        (bad.length ? `; a stream that did not get every event once: ${bad[0]}` : ''),
    );
    const others = runs.map((r) => Math.max(0, r.cpu.others).toFixed(2)).join(' / ');
    const redis = runs.map((r) => r.cpu.redis.toFixed(2)).join(' / ');
    const again = runs.reduce((n, r) => n + ((r as { attempts?: number }).attempts ?? 1) - 1, 0);
    out.push(
      `- ${HUB_LABELS[variant]}: other work on the machine during the kept runs (redis-server excluded): ${others} cores` +
        (variant === 'hub-memory' ? '' : `; redis-server: ${redis} cores`) +
        (again > 0 ? ` (${again} run(s) repeated because the machine was busier)` : ''),
    );
    if (variant !== 'hub-memory') {
      const perEvent = runs.map((r) => r.redisCommandsPerEvent.toFixed(1)).join(' / ');
      const perEventAwaited = runs
        .map((r) => r.redisCommandsPerEventAwaited.toFixed(1))
        .join(' / ');
      out.push(
        `- ${HUB_LABELS[variant]}: commands Redis processed per event published (from every client: the test suites share this Redis): ${perEvent} at full speed, ${perEventAwaited} with each publish awaited`,
      );
      const keys = runs.map((r) => r.redisKeys);
      const deleted = keys.reduce((n, k) => n + (k?.deleted ?? 0), 0);
      const left = keys.reduce((n, k) => n + (k?.left ?? 0), 0);
      out.push(
        `- ${HUB_LABELS[variant]}: Redis keys of the runs (one key prefix per run, \`${keys[0]?.prefix.replace(/[^:]+:$/, '…:') ?? '–'}\`): ${deleted} deleted afterwards, ${left === 0 ? 'none left' : `**${left} left**`}`,
      );
    }
    for (const o of outcomes) {
      if ('error' in o) out.push(`- **${HUB_LABELS[variant]} failed**: ${o.error.split('\n')[0]}`);
    }
  }
  out.push('');
  return out;
}

function everyRun(results: HubResults, c: HubReportContext): string[] {
  const out = ['### Every run (hub)', ''];
  out.push(
    `| Metric | ${HUB_LABELS['hub-memory']} | ${HUB_LABELS['hub-redis']} | 2 instances: A | 2 instances: B | 2 instances: all |`,
    '|---|---|---|---|---|---|',
  );
  for (const row of rows(c)) {
    const runs = (variant: HubVariant, pick: Pick | undefined) =>
      pick === undefined
        ? ''
        : (results[variant] ?? [])
            .map((o) => {
              if ('error' in o) return 'failed';
              const v = pick(o);
              return Number.isFinite(v) ? row.format(v) : '–';
            })
            .join(' / ');
    out.push(
      `| ${row.metric} | ${runs('hub-memory', row.memory)} | ${runs('hub-redis', row.redis)} | ${runs('hub-cross', row.crossA)} | ${runs('hub-cross', row.crossB)} | ${runs('hub-cross', row.crossAll)} |`,
    );
  }
  out.push('');
  return out;
}

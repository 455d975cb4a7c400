import {
  type ChurnSummary,
  type FanoutResult,
  type IdleResult,
  PACED_DELIVERIES_PER_SECOND,
  type SlowResult,
} from './scenarios.js';

export type ServerKey = 'raw' | 'builtin' | 'ours' | 'otel' | 'minimal' | PlatformServerKey;
/** The servers of the Fastify and HTTP/2 groups (`--platform`, lib/platform-report.ts). */
export type PlatformServerKey =
  'fastify-sse' | 'fastify-builtin' | 'fastify-ours' | 'h2-raw' | 'h2-fastify' | 'h2-ours';
export type ScenarioKey = 'fanout-small' | 'fanout-large' | 'idle' | 'slow' | 'churn';

export const SERVER_LABELS: Record<ServerKey, string> = {
  raw: 'node:http (raw)',
  builtin: 'Nest `@Sse()`',
  ours: 'nestjs-event-stream',
  otel: 'nestjs-event-stream + OpenTelemetry SDK',
  minimal: 'minimal Nest `@Res()`',
  'fastify-sse': '`@fastify/sse`',
  'fastify-builtin': 'Nest `@Sse()` on Fastify',
  'fastify-ours': 'nestjs-event-stream on Fastify',
  'h2-raw': 'node:http2 (raw)',
  'h2-fastify': 'plain Fastify h2c (raw writes)',
  'h2-ours': 'nestjs-event-stream on Fastify h2c',
};

export interface ScenarioResults {
  'fanout-small': FanoutResult;
  'fanout-large': FanoutResult;
  idle: IdleResult;
  slow: SlowResult;
  churn: ChurnSummary;
}

/** One run of one scenario against one server: its result, or what went wrong. */
export type Outcome<K extends ScenarioKey> =
  | (ScenarioResults[K] & {
      /** Runs made to get one the machine did not disturb much. */ attempts?: number;
    })
  | { error: string };

export type AllResults = {
  [K in ScenarioKey]?: Partial<Record<ServerKey, Array<Outcome<K>>>>;
};

export interface ReportContext {
  title: string;
  sizes: {
    clients: number;
    smallEvents: number;
    largeEvents: number;
    idle: number;
    slowEvents: number;
    churnCycles: number;
  };
  runs: number;
  environment: string[];
}

interface Target {
  /** `minimal`: the smallest hand-written Nest handler (issue 11's churn target). */
  against: 'raw' | 'builtin' | 'minimal';
  op: '>=' | '<=';
  ratio: number;
  /**
   * Where the target is judged instead, when servers measured one after the other cannot
   * judge it (the table still gives the ratio).
   */
  judgedBy?: string;
}

export interface NumericRow<K extends ScenarioKey> {
  scenario: K;
  metric: string;
  pick: (result: ScenarioResults[K]) => number;
  format: (value: number) => string;
  target?: Target;
  /** Differences, not amounts: no ratio makes sense. */
  noRatio?: boolean;
  /** What a server without a value shows (its runs did not fail: it has none). */
  none?: string;
}

const KIB = 1024;
const MIB = 1024 * 1024;
const int = (v: number) => Math.round(v).toLocaleString('en-US');
const ms = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
const kib = (v: number) => (v / KIB).toFixed(1);
const mib = (v: number) => (v / MIB).toFixed(1);
const signed = (v: number) => (v > 0 ? `+${v}` : String(v));

export function rows(c: ReportContext['sizes']): Array<NumericRow<ScenarioKey>> {
  const small = `fan-out ${c.clients} × ${c.smallEvents} × 100 B`;
  const large = `fan-out ${c.clients} × ${c.largeEvents} × 4 KiB`;
  const list = [
    ...(['fanout-small', 'fanout-large'] as const).flatMap((scenario) => [
      {
        scenario,
        metric: `${scenario === 'fanout-small' ? small : large}: deliveries/s`,
        pick: (r: FanoutResult) => r.deliveriesPerSecond,
        format: int,
        target: { against: 'raw', op: '>=', ratio: 0.8 } as Target,
      },
      {
        scenario,
        metric: '… server CPU per delivery (µs)',
        pick: (r: FanoutResult) => r.serverCpuUsPerDelivery,
        format: (v: number) => v.toFixed(1),
      },
      {
        scenario,
        metric: '… latency p50 (ms)',
        pick: (r: FanoutResult) => r.p50Ms,
        format: ms,
      },
      {
        scenario,
        metric: '… latency p99 (ms)',
        pick: (r: FanoutResult) => r.p99Ms,
        format: ms,
        target: { against: 'raw', op: '<=', ratio: 1.5 } as Target,
      },
      {
        scenario,
        metric: `… at ${int(PACED_DELIVERIES_PER_SECOND)} deliveries/s: latency p50 (ms)`,
        pick: (r: FanoutResult) => r.paced.p50Ms,
        format: ms,
      },
      {
        scenario,
        metric: `… at ${int(PACED_DELIVERIES_PER_SECOND)} deliveries/s: latency p99 (ms)`,
        pick: (r: FanoutResult) => r.paced.p99Ms,
        format: ms,
        target: { against: 'raw', op: '<=', ratio: 1.5 } as Target,
      },
      {
        scenario,
        metric: `… at ${int(PACED_DELIVERIES_PER_SECOND)} deliveries/s: server CPU per delivery (µs)`,
        pick: (r: FanoutResult) => r.paced.serverCpuUsPerDelivery,
        format: (v: number) => v.toFixed(1),
      },
    ]),
    {
      scenario: 'idle',
      metric: `idle ${c.idle} connections: RSS per connection (KiB)`,
      pick: (r: IdleResult) => r.rssPerConnection,
      format: kib,
      target: { against: 'raw', op: '<=', ratio: 1.5 },
    },
    {
      scenario: 'idle',
      metric: '… JS heap per connection (KiB)',
      pick: (r: IdleResult) => r.heapPerConnection,
      format: kib,
    },
    {
      scenario: 'idle',
      metric: '… external (Buffers) per connection (KiB)',
      pick: (r: IdleResult) => r.externalPerConnection,
      format: kib,
    },
    {
      scenario: 'slow',
      metric: `slow consumer, ${c.slowEvents} × 1 KiB: peak RSS growth (MiB)`,
      pick: (r: SlowResult) => r.peakRssGrowth,
      format: mib,
    },
    {
      scenario: 'slow',
      metric: '… heap + Buffers still held after GC (MiB)',
      pick: (r: SlowResult) => r.heldHeapAndBuffers,
      format: mib,
    },
    {
      scenario: 'slow',
      metric: '… queued for it in the server when it was closed (≈ MiB)',
      pick: (r: SlowResult) => queuedAtClose(r),
      format: mib,
      none: 'never closed',
    },
    {
      scenario: 'slow',
      metric: '… bytes the slow client got (MiB)',
      pick: (r: SlowResult) => r.slow.bytes,
      format: mib,
    },
    {
      scenario: 'churn',
      metric: `churn ${c.churnCycles} cycles: cycles/s`,
      pick: (r: ChurnSummary) => r.cyclesPerSecond,
      format: int,
      target: { against: 'builtin', op: '>=', ratio: 1.5 },
    },
    {
      scenario: 'churn',
      metric: '… server CPU per cycle (µs)',
      pick: (r: ChurnSummary) => r.serverCpuUsPerCycle,
      format: int,
      // Minutes apart, two servers meet different speeds of a shared core: the ratio moved from
      // 1.02x to 1.37x with nothing changed. Judged side by side, in alternating batches.
      target: {
        against: 'minimal',
        op: '<=',
        ratio: 1.15,
        judgedBy: 'judged side by side by `churn-paired.js`',
      },
    },
    {
      scenario: 'churn',
      metric: '… heap after GC vs before (KiB)',
      pick: (r: ChurnSummary) => r.heapDelta,
      format: (v: number) => signed(Number(kib(v))),
      noRatio: true,
    },
    {
      scenario: 'churn',
      metric: '… heap growth per cycle over a second batch (B)',
      pick: (r: ChurnSummary) => r.heapGrowthPerCycleAfter,
      format: (v: number) => signed(Math.round(v)),
      noRatio: true,
    },
    {
      scenario: 'churn',
      metric: '… handles vs before',
      pick: (r: ChurnSummary) => r.handleDelta,
      format: (v: number) => signed(v),
      noRatio: true,
    },
    {
      scenario: 'churn',
      metric: '… timers vs before',
      pick: (r: ChurnSummary) => r.timerDelta,
      format: (v: number) => signed(v),
      noRatio: true,
    },
  ];
  return list as Array<NumericRow<ScenarioKey>>;
}

/**
 * What the server still held for the slow client when it closed it: what it had been sent up
 * to then (each frame `id: <seq>\ndata: <1024 B>\n\n` in a chunk of its own: 1044 bytes and
 * the digits of its id), less what the kernel had taken and the client got in the end.
 */
function queuedAtClose(r: SlowResult): number {
  const closedBefore = r.firstSeqAfterClose;
  if (closedBefore === undefined) return NaN;
  let sent = 0;
  for (let seq = 0; seq < closedBefore; seq++) sent += 1044 + String(seq).length;
  return Math.max(0, sent - r.slow.bytes);
}

export function median(values: number[]): number {
  // filter() made a copy already (and toSorted() is ES2023, past this project's lib).
  // oxlint-disable-next-line unicorn/no-array-sort
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function successes<K extends ScenarioKey>(
  results: AllResults,
  scenario: K,
  server: ServerKey,
): Array<ScenarioResults[K]> {
  const outcomes = (results[scenario]?.[server] ?? []) as Array<Outcome<K>>;
  return outcomes.filter((o): o is ScenarioResults[K] => !('error' in o));
}

function failures(results: AllResults, scenario: ScenarioKey, server: ServerKey): string[] {
  const outcomes = (results[scenario]?.[server] ?? []) as Array<Outcome<ScenarioKey>>;
  return outcomes.flatMap((o) => ('error' in o ? [o.error] : []));
}

const ratio = (a: number, b: number) =>
  Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : '–';

function slowOutcome(r: SlowResult | undefined): string {
  if (r === undefined) return '–';
  const who = r.closedByServer ? 'closed by server' : 'kept open';
  const got = `got ${mib(r.slow.bytes)} MiB, ${int(r.slow.events)} events`;
  return `${who}; ${got}, then ${r.slow.ending}`;
}

export function churnBaseline(runs: ChurnSummary[]): string {
  if (runs.length === 0) return '–';
  return runs.every(backToBaseline) ? 'yes' : 'NO';
}

function backToBaseline(r: ChurnSummary): boolean {
  // Heap after GC moves by some 100 KiB whatever happens (compiled code, caches filled once);
  // a leak shows as growth that repeats in the second batch. A leaked connection would keep
  // its request, response and socket: several KiB (see the idle scenario), far above this.
  // With few cycles (--quick), that noise is more per cycle: 256 KiB in all is allowed too.
  const allowed = Math.max(256, (256 * KIB) / r.cycles);
  return (
    r.settled && r.handleDelta <= 0 && r.timerDelta <= 0 && r.heapGrowthPerCycleAfter < allowed
  );
}

/** The results as Markdown: medians and ratios, the targets, then every run. */
export function renderReport(results: AllResults, context: ReportContext): string {
  // The minimal handler has a column only in runs that measured it (`--servers minimal,…`).
  const withMinimal = Object.values(results).some((byServer) => byServer?.minimal !== undefined);
  const servers: ServerKey[] = withMinimal
    ? (['raw', 'minimal', 'builtin', 'ours'] as const).filter((server) =>
        Object.values(results).some((byServer) => byServer?.[server] !== undefined),
      )
    : ['raw', 'builtin', 'ours'];
  const out: string[] = [];
  out.push(`# ${context.title}`, '');
  out.push(...context.environment.map((line) => `- ${line}`), '');
  out.push(
    `Medians of ${context.runs} run(s) per scenario and server; each run starts a fresh server ` +
      '(`taskset -c 0`) and a fresh load generator (`taskset -c 1`). Ratios are to the raw ' +
      '`node:http` server, except where the target is against `@Sse()`' +
      (withMinimal ? ' or the minimal `@Res()` handler (`servers/nest-minimal.ts`).' : '.'),
    '',
  );
  out.push(
    `| Metric | ${servers.map((s) => SERVER_LABELS[s]).join(' | ')} | @Sse()/raw | ours/raw | ours/@Sse() |${withMinimal ? ' ours/minimal |' : ''} target (ours) |`,
    `|---|${servers.map(() => '---:|').join('')}---:|---:|---:|${withMinimal ? '---:|' : ''}---|`,
  );
  for (const row of rows(context.sizes)) {
    if (!(row.scenario in results)) continue;
    const values = servers.map((server) =>
      median(successes(results, row.scenario, server).map(row.pick)),
    );
    const at = (server: ServerKey) => values[servers.indexOf(server)] ?? NaN;
    const [raw, builtin, ours, minimal] = [at('raw'), at('builtin'), at('ours'), at('minimal')];
    const cells = values.map((v, i) =>
      Number.isFinite(v)
        ? row.format(v)
        : successes(results, row.scenario, servers[i]!).length > 0
          ? (row.none ?? '–')
          : 'failed',
    );
    let target = '';
    if (row.target !== undefined) {
      const base = { raw, builtin, minimal }[row.target.against];
      const r = ours / base;
      const met = row.target.op === '>=' ? r >= row.target.ratio : r <= row.target.ratio;
      const name = { raw: 'raw', builtin: '@Sse()', minimal: 'minimal' }[row.target.against];
      const verdict = Number.isFinite(r) ? (met ? 'met' : '**missed**') : '–';
      target = `${row.target.op} ${row.target.ratio}× ${name}: ${row.target.judgedBy ?? verdict}`;
    }
    const ratios = row.noRatio
      ? ['', '', '', ...(withMinimal ? [''] : [])]
      : [
          ratio(builtin, raw),
          ratio(ours, raw),
          ratio(ours, builtin),
          ...(withMinimal ? [ratio(ours, minimal)] : []),
        ];
    out.push(`| ${row.metric} | ${cells.join(' | ')} | ${ratios.join(' | ')} | ${target} |`);
    if (row.metric.startsWith('… bytes the slow client got')) {
      const outcomes = servers.map((s) => slowOutcome(successes(results, 'slow', s)[0]));
      const oursRuns = successes(results, 'slow', 'ours');
      // The estimate of what was queued counts the frames whole: some KiB of slack.
      const bounded =
        oursRuns.length === 0
          ? '–'
          : oursRuns.every(
                (r) =>
                  r.closedByServer &&
                  queuedAtClose(r) <= 1.25 * MIB &&
                  r.heldHeapAndBuffers < 2 * MIB,
              )
            ? 'met'
            : '**missed**';
      out.push(
        `| … what happened to the slow client (run 1) | ${outcomes.join(' | ')} | | | |${withMinimal ? ' |' : ''} bounded by maxBufferedBytes (1 MiB): ${bounded} |`,
      );
    }
    if (row.metric.startsWith('… timers vs before')) {
      const back = servers.map((s) => churnBaseline(successes(results, 'churn', s)));
      out.push(
        `| … heap, handles, timers back to baseline (every run) | ${back.join(' | ')} | | | |${withMinimal ? ' |' : ''} |`,
      );
    }
  }
  out.push('');
  out.push(...checks(results, servers));
  out.push(...everyRun(results, context, servers));
  return out.join('\n') + '\n';
}

export function checks(results: AllResults, servers: ServerKey[]): string[] {
  const out = ['## Checks', ''];
  for (const scenario of ['fanout-small', 'fanout-large'] as const) {
    if (!(scenario in results)) continue;
    for (const server of servers) {
      const runs = successes(results, scenario, server);
      const sum = (f: (r: FanoutResult) => number) => runs.reduce((n, r) => n + f(r), 0);
      const issues = [
        ['gaps', sum((r) => r.gaps + r.warmup.gaps + r.paced.gaps)],
        ['duplicates', sum((r) => r.duplicates + r.warmup.duplicates + r.paced.duplicates)],
        ['malformed frames', sum((r) => r.malformed + r.warmup.malformed + r.paced.malformed)],
        ['wrong-size events', sum((r) => r.wrongSize + r.paced.wrongSize)],
        ['events missing', sum((r) => r.missing + r.warmup.missing + r.paced.missing)],
        [
          'streams closed early',
          sum((r) => r.closedEarly + r.warmup.closedEarly + r.paced.closedEarly),
        ],
      ] as const;
      const found = issues.filter(([, n]) => n > 0).map(([what, n]) => `${n} ${what}`);
      const deliveries = sum((r) => r.deliveries + r.paced.deliveries);
      out.push(
        `- ${scenario}, ${SERVER_LABELS[server]}: ${int(deliveries)} measured deliveries in ${runs.length} run(s), ` +
          (found.length === 0
            ? 'every frame parsed, no gap, no duplicate'
            : `**${found.join(', ')}**`),
      );
    }
  }
  if ('slow' in results) {
    for (const server of servers) {
      for (const r of successes(results, 'slow', server)) {
        const h = r.healthy;
        const ok = h.missing === 0 && h.gaps === 0 && h.duplicates === 0 && !h.timedOut;
        out.push(
          `- slow, ${SERVER_LABELS[server]}: the reading client got ${ok ? 'every event in order' : `**${h.missing} missing, ${h.gaps} gaps**`} ` +
            `(p99 ${ms(h.p99Ms)} ms); the paused one: ${slowOutcome(r)}, ` +
            `last seq ${r.slow.lastSeq}; server published in ${int(r.publishMs)} ms`,
        );
      }
    }
  }
  if ('churn' in results) {
    for (const server of servers) {
      for (const r of successes(results, 'churn', server)) {
        const failed = Object.entries(r.failures);
        out.push(
          `- churn, ${SERVER_LABELS[server]}: ${r.ok}/${r.cycles} cycles ok` +
            (failed.length ? ` (**failed: ${JSON.stringify(r.failures)}**)` : '') +
            `; closed on the server ${r.settled ? `within ${int(r.settleMs)} ms` : '**not within 10 s**'}; ` +
            `resources before ${JSON.stringify(r.handlesBefore)}, after ${JSON.stringify(r.handlesAfter)}`,
        );
      }
    }
  }
  for (const scenario of ['fanout-small', 'fanout-large', 'slow', 'churn'] as const) {
    if (!(scenario in results)) continue;
    for (const server of servers) {
      const runs = successes(results, scenario, server) as Array<
        ScenarioResults[typeof scenario] & { attempts?: number }
      >;
      if (runs.length === 0) continue;
      const others = runs.map((r) => Math.max(0, r.cpu.others).toFixed(2)).join(' / ');
      const again = runs.reduce((n, r) => n + (r.attempts ?? 1) - 1, 0);
      out.push(
        `- ${scenario}, ${SERVER_LABELS[server]}: other work on the machine during the kept runs: ${others} cores` +
          (again > 0 ? ` (${again} run(s) repeated because the machine was busier)` : ''),
      );
    }
  }
  const errors: string[] = [];
  for (const scenario of Object.keys(results) as ScenarioKey[]) {
    for (const server of servers) {
      for (const error of failures(results, scenario, server)) {
        errors.push(`- **${scenario}, ${SERVER_LABELS[server]} failed**: ${error.split('\n')[0]}`);
      }
    }
  }
  out.push(...errors, '');
  return out;
}

export function everyRun(
  results: AllResults,
  context: ReportContext,
  servers: ServerKey[],
): string[] {
  const out = ['## Every run', ''];
  out.push('| Metric | ' + servers.map((s) => SERVER_LABELS[s]).join(' | ') + ' |');
  out.push(`|---|${servers.map(() => '---|').join('')}`);
  for (const row of rows(context.sizes)) {
    if (!(row.scenario in results)) continue;
    const cells = servers.map((server) => {
      const outcomes = (results[row.scenario]?.[server] ?? []) as Array<Outcome<ScenarioKey>>;
      return outcomes
        .map((o) => {
          if ('error' in o) return 'failed';
          const value = row.pick(o);
          return Number.isFinite(value) ? row.format(value) : (row.none ?? '–');
        })
        .join(' / ');
    });
    out.push(`| ${row.metric} | ${cells.join(' | ')} |`);
  }
  out.push('');
  return out;
}

import {
  type AllResults,
  checks,
  churnBaseline,
  everyRun,
  median,
  type ReportContext,
  rows,
  type ScenarioKey,
  SERVER_LABELS,
  type ServerKey,
  successes,
} from './report.js';

/** `--platform`: the Express group (report.ts) or one of the groups below. */
export type PlatformKey = 'express' | 'fastify' | 'h2';

interface PlatformTarget {
  scenario: ScenarioKey;
  /** The row, by the end of its metric's label. */
  metric: string;
  against: ServerKey;
  op: '>=' | '<=';
  ratio: number;
}

/** A group of servers on one platform, measured apart from the Express group. */
export interface PlatformGroup {
  title: string;
  /** What the group compares, for the top of its section. */
  intro: string;
  /** In the order of the table's columns. */
  servers: ServerKey[];
  scenarios: ScenarioKey[];
  /** The ratio columns, numerator over denominator (those whose servers ran). */
  ratios: Array<[ServerKey, ServerKey]>;
  /** For nestjs-event-stream's column (the last of `servers`); from issue 9. */
  targets: PlatformTarget[];
  /** The load generator's streams go over this many HTTP/2 sessions (h2c). */
  http2?: boolean;
}

const SHORT: Partial<Record<ServerKey, string>> = {
  raw: 'raw',
  'fastify-sse': '@fastify/sse',
  'fastify-builtin': '@Sse()',
  'fastify-ours': 'ours',
  'h2-raw': 'raw h2',
  'h2-fastify': 'Fastify h2',
  'h2-ours': 'ours',
};
const short = (s: ServerKey) => SHORT[s] ?? s;

export const PLATFORM_GROUPS: Record<Exclude<PlatformKey, 'express'>, PlatformGroup> = {
  fastify: {
    title: 'Fastify HTTP/1.1',
    intro:
      'nestjs-event-stream on `FastifyAdapter` (servers/fastify-nest-event-stream.ts) against Nest ' +
      '`@Sse()` on `FastifyAdapter`, `@fastify/sse` on plain Fastify, and the raw `node:http` ' +
      'server, over HTTP/1.1. The Nest servers are the Express rows\u2019 modules on another adapter.',
    servers: ['raw', 'fastify-sse', 'fastify-builtin', 'fastify-ours'],
    scenarios: ['fanout-small', 'idle', 'churn'],
    ratios: [
      ['fastify-sse', 'raw'],
      ['fastify-builtin', 'raw'],
      ['fastify-ours', 'raw'],
      ['fastify-ours', 'fastify-sse'],
      ['fastify-ours', 'fastify-builtin'],
    ],
    targets: [
      {
        scenario: 'fanout-small',
        metric: ': deliveries/s',
        against: 'fastify-sse',
        op: '>=',
        ratio: 1.5,
      },
      {
        scenario: 'fanout-small',
        metric: ': deliveries/s',
        against: 'fastify-builtin',
        op: '>=',
        ratio: 2,
      },
      {
        scenario: 'idle',
        metric: 'RSS per connection (KiB)',
        against: 'fastify-sse',
        op: '<=',
        ratio: 1,
      },
    ],
  },
  h2: {
    title: 'HTTP/2 (h2c)',
    intro:
      'nestjs-event-stream on `FastifyAdapter({ http2: true })` (servers/h2-nest-event-stream.ts) ' +
      'against a raw `node:http2` server writing the same frames (servers/h2-raw.ts), cleartext ' +
      'HTTP/2 with prior knowledge, and plain Fastify h2c writing the same frames after ' +
      '`reply.hijack()` (servers/h2-fastify-raw.ts): what the platform under the library costs. ' +
      'The load generator spreads its streams over a few sessions ' +
      '(`--h2-sessions`), with a browser\u2019s flow-control windows (6 MiB per stream, 15 MiB per ' +
      'session); memory is per stream, the sessions\u2019 own cost shared by their streams.',
    servers: ['h2-raw', 'h2-fastify', 'h2-ours'],
    scenarios: ['fanout-small', 'idle', 'churn'],
    ratios: [
      ['h2-fastify', 'h2-raw'],
      ['h2-ours', 'h2-raw'],
      ['h2-ours', 'h2-fastify'],
    ],
    targets: [
      {
        scenario: 'fanout-small',
        metric: ': deliveries/s',
        against: 'h2-raw',
        op: '>=',
        ratio: 0.8,
      },
    ],
    http2: true,
  },
};

export const platformBegin = (key: PlatformKey) => `<!-- platform-${key}:begin -->`;
export const platformEnd = (key: PlatformKey) => `<!-- platform-${key}:end -->`;

/**
 * `text` with the section between `begin` and `end` (markers included) replaced by `section`,
 * or with `section` added at the end when there is none.
 */
export function replaceSection(text: string, begin: string, end: string, section: string): string {
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from !== -1 && to > from) {
    return text.slice(0, from) + section + text.slice(to + end.length).replace(/^\n/, '');
  }
  return (text === '' ? '' : text.replace(/\n*$/, '\n\n')) + section;
}

/** The platform sections of a report (to keep them when the Express group rewrites it). */
export function platformSections(text: string): string {
  return (['fastify', 'h2'] as const)
    .map((key) => {
      const from = text.indexOf(platformBegin(key));
      const to = text.indexOf(platformEnd(key));
      return from !== -1 && to > from ? text.slice(from, to + platformEnd(key).length) + '\n' : '';
    })
    .join('\n');
}

/** A label of report.ts's rows, said of HTTP/2 streams over `sessions` sessions. */
function relabel(metric: string, sessions: number | undefined): string {
  if (sessions === undefined) return metric;
  return metric
    .replace(/^(fan-out \d+) ×/, `$1 streams / ${sessions} sessions ×`)
    .replace(/^idle (\d+) connections/, `idle $1 streams / ${sessions} sessions`)
    .replace(/per connection/, 'per stream')
    .replace(/^churn (\d+) cycles/, `churn $1 cycles (streams on ${sessions} sessions)`);
}

const ratioText = (a: number, b: number) =>
  Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : '–';

const demote = (lines: string[]) => lines.map((l) => l.replace(/^## /, '### '));

/** One platform group's section of RESULTS.md: its medians, ratios and targets, then every run. */
export function renderPlatformSection(
  key: Exclude<PlatformKey, 'express'>,
  results: AllResults,
  context: ReportContext & { http2Sessions?: number },
): string {
  const group = PLATFORM_GROUPS[key];
  const ran = (server: ServerKey) =>
    Object.values(results).some((byServer) => (byServer?.[server]?.length ?? 0) > 0);
  // The group's servers first, then any other that was asked for (e.g. ours on Express).
  const servers = [
    ...group.servers.filter(ran),
    ...(Object.keys(SERVER_LABELS) as ServerKey[]).filter(
      (s) => !group.servers.includes(s) && ran(s),
    ),
  ];
  const ratios = group.ratios.filter(([a, b]) => servers.includes(a) && servers.includes(b));
  const ours = group.servers[group.servers.length - 1]!;
  const sessions = group.http2 ? context.http2Sessions : undefined;
  const out: string[] = [platformBegin(key), `## ${group.title}`, ''];
  out.push(...context.environment.map((line) => `- ${line}`), '');
  out.push(
    group.intro,
    '',
    `Medians of ${context.runs} run(s) per scenario and server, each with a fresh server ` +
      '(`taskset -c 0`) and load generator (`taskset -c 1`). Targets (issue 9) are for ' +
      `${SERVER_LABELS[ours]}, from the medians.`,
    '',
  );
  out.push(
    `| Metric | ${servers.map((s) => SERVER_LABELS[s]).join(' | ')} | ${ratios
      .map(([a, b]) => `${short(a)}/${short(b)}`)
      .join(' | ')} | target (ours) |`,
    `|---|${servers.map(() => '---:|').join('')}${ratios.map(() => '---:|').join('')}---|`,
  );
  for (const row of rows(context.sizes)) {
    if (!(row.scenario in results)) continue;
    const value = new Map(
      servers.map((s) => [s, median(successes(results, row.scenario, s).map(row.pick))]),
    );
    const cells = servers.map((s) => {
      const v = value.get(s)!;
      if (Number.isFinite(v)) return row.format(v);
      return successes(results, row.scenario, s).length > 0 ? (row.none ?? '–') : 'failed';
    });
    const ratioCells = ratios.map(([a, b]) =>
      row.noRatio ? '' : ratioText(value.get(a)!, value.get(b)!),
    );
    const targets = group.targets
      .filter((t) => t.scenario === row.scenario && row.metric.endsWith(t.metric))
      .map((t) => {
        const r = (value.get(ours) ?? NaN) / (value.get(t.against) ?? NaN);
        const met = t.op === '>=' ? r >= t.ratio : r <= t.ratio;
        const verdict = Number.isFinite(r) ? (met ? 'met' : '**missed**') : '–';
        return `${t.op} ${t.ratio}× ${short(t.against)}: ${verdict}`;
      });
    out.push(
      `| ${relabel(row.metric, sessions)} | ${cells.join(' | ')} | ${ratioCells.join(' | ')} | ${targets.join('; ')} |`,
    );
    if (row.metric.startsWith('… timers vs before')) {
      const back = servers.map((s) => churnBaseline(successes(results, 'churn', s)));
      const blank = ratios.map(() => '').join(' | ');
      out.push(
        `| … heap, handles, timers back to baseline (every run) | ${back.join(' | ')} | ${blank} | |`,
      );
    }
  }
  out.push('');
  // report.ts's checks and every run, as subsections of this one.
  out.push(...demote(checks(results, servers)));
  out.push(
    ...demote(everyRun(results, context, servers)).map((line) =>
      line.replace(/^\| ([^|]+) \|/, (_, metric: string) => `| ${relabel(metric, sessions)} |`),
    ),
  );
  out.push(platformEnd(key));
  return out.join('\n') + '\n';
}

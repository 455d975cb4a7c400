/** What bench/capacity.ts measured (see there). */
export interface CapacityResult {
  streams: number;
  heartbeatMs: number;
  openMs: number;
  rssBase: number;
  rssHeld: number;
  rssPerStream: number;
  heapPerStream: number;
  externalPerStream: number;
  rssAfterFanout: number;
  loadAtOpen: string;
  heartbeat: {
    windowMs: number;
    heartbeats: number;
    serverCpuMs: number;
    cpuMsPerSecond: number;
    cpuUsPerHeartbeat: number;
    peakCores: number;
    othersCores: number;
    malformed: number;
    loadAverage: string;
  };
  fanout: {
    events: number;
    intervalMs: number;
    deliveries: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    heartbeatsMeanwhile: number;
    serverCpuMs: number;
    cpuUsPerDelivery: number;
    peakCores: number;
    /** The load generator's peak: near 1, the latency includes its own lag reading. */
    loadPeakCores: number;
    othersCores: number;
    missing: number;
    gaps: number;
    duplicates: number;
    malformed: number;
    closedEarly: number;
    loadAverage: string;
  };
}

const TARGET = 100_000;
/** The module's default heartbeat interval, which production runs with. */
const DEFAULT_HEARTBEAT_MS = 15_000;
/** Open files per process on this machine (`ulimit -Hn`), and the share left for streams. */
const FILES_PER_PROCESS = 20_000;
const STREAMS_PER_PROCESS = 15_000;

const f = (v: number, d = 0) =>
  Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: d }) : '–';
const kib = (v: number) => f(v / 1024, 1);
const mib = (v: number) => f(v / 2 ** 20, 0);

/** The table of one run, and the README-ready paragraph that extrapolates it to 100k. */
export function capacityReport(r: CapacityResult, context: { environment: string[] }): string {
  const hb = r.heartbeat;
  const fo = r.fanout;
  const processes = Math.ceil(TARGET / STREAMS_PER_PROCESS);
  const perProcess = TARGET / processes;
  const memoryAll = r.rssBase + TARGET * r.rssPerStream;
  const memoryPerProcess = r.rssBase + perProcess * r.rssPerStream;
  const hbCores = ((TARGET / (DEFAULT_HEARTBEAT_MS / 1000)) * hb.cpuUsPerHeartbeat) / 1e6;
  const eventCostMs = (TARGET * fo.cpuUsPerDelivery) / 1000;
  const p99PerProcess = (fo.p99Ms * perProcess) / r.streams;
  const clean =
    fo.missing + fo.gaps + fo.duplicates + fo.malformed + fo.closedEarly + hb.malformed === 0;
  const lines = [
    '## Concurrent streams per process (issue 11, item 5)',
    '',
    ...context.environment.map((line) => `- ${line}`),
    '',
    '| Metric | Value |',
    '|---|---:|',
    `| streams held by one process (heartbeat ${f(r.heartbeatMs)} ms) | ${f(r.streams)} (opened in ${f(r.openMs / 1000, 1)} s; load average then ${r.loadAtOpen}) |`,
    `| RSS per stream (KiB), after GC | ${kib(r.rssPerStream)} |`,
    `| … JS heap / Buffers per stream (KiB) | ${kib(r.heapPerStream)} / ${kib(r.externalPerStream)} |`,
    `| RSS of the process: baseline / with every stream / after the fan-out (MiB, after GC) | ${mib(r.rssBase)} / ${mib(r.rssHeld)} / ${mib(r.rssAfterFanout)} |`,
    `| heartbeats alone, ${f(hb.windowMs / 1000, 1)} s: heartbeats received | ${f(hb.heartbeats)} (${f(hb.heartbeats / r.streams / (hb.windowMs / 1000), 2)} per stream per second) |`,
    `| … server CPU per second (ms/s) | ${f(hb.cpuMsPerSecond, 1)} (peak ${f(hb.peakCores, 2)} cores over 250 ms; load average ${hb.loadAverage}; other work ${f(hb.othersCores, 2)} cores) |`,
    `| … server CPU per heartbeat (µs) | ${f(hb.cpuUsPerHeartbeat, 2)} |`,
    `| fan-out with heartbeats on: ${f(fo.events)} events of 100 B, one per ${f(fo.intervalMs)} ms, to every stream | ${f(fo.deliveries)} deliveries, ${f(fo.heartbeatsMeanwhile)} heartbeats meanwhile |`,
    `| … delivery latency p50 / p99 / max (ms) | ${f(fo.p50Ms, 1)} / ${f(fo.p99Ms, 1)} / ${f(fo.maxMs, 1)} (load generator peak ${f(fo.loadPeakCores, 2)} cores) |`,
    `| … server CPU per delivery (µs, heartbeats taken out) | ${f(fo.cpuUsPerDelivery, 2)} (peak ${f(fo.peakCores, 2)} cores; load average ${fo.loadAverage}; other work ${f(fo.othersCores, 2)} cores) |`,
    `| … every event to every stream once, in order | ${clean ? 'yes' : `**no**: missing ${fo.missing}, gaps ${fo.gaps}, duplicates ${fo.duplicates}, malformed ${fo.malformed + hb.malformed}, closed early ${fo.closedEarly}`} |`,
    '',
    '### Extrapolated to 100k streams',
    '',
    `One process held ${f(r.streams)} streams with heartbeats on: ${kib(r.rssPerStream)} KiB of RSS ` +
      `per stream over a ${mib(r.rssBase)} MiB baseline, ${f(hb.cpuUsPerHeartbeat, 2)} µs of CPU per ` +
      `heartbeat, ${f(fo.cpuUsPerDelivery, 2)} µs per delivery of a 100 B event, and a p99 delivery ` +
      `latency of ${f(fo.p99Ms, 0)} ms (a fan-out writes to its streams one after the other, so ` +
      `latency grows with the streams of one process). For 100,000 streams:`,
    '',
    `- **Memory**: ${mib(r.rssBase)} MiB + 100,000 × ${kib(r.rssPerStream)} KiB ≈ ` +
      `**${f(memoryAll / 2 ** 30, 2)} GiB** in all, or per process (${processes} × ${f(perProcess)} ` +
      `streams) ${mib(r.rssBase)} MiB + ${f(perProcess)} × ${kib(r.rssPerStream)} KiB ≈ ` +
      `**${mib(memoryPerProcess)} MiB**.`,
    `- **Heartbeats** (default ${f(DEFAULT_HEARTBEAT_MS / 1000)} s): 100,000 / ${f(DEFAULT_HEARTBEAT_MS / 1000)} s ` +
      `= ${f(TARGET / (DEFAULT_HEARTBEAT_MS / 1000))} heartbeats/s × ${f(hb.cpuUsPerHeartbeat, 2)} µs ` +
      `≈ **${f(hbCores, 3)} core** (${f(hbCores * 1000, 0)} ms of CPU per second), spread over ` +
      'the processes; a stream that received an event within the interval gets none.',
    `- **Fan-out**: one event to all 100,000 costs 100,000 × ${f(fo.cpuUsPerDelivery, 2)} µs ≈ ` +
      `**${f(eventCostMs, 0)} ms of CPU**, so one core sustains about ${f(1000 / eventCostMs, 1)} ` +
      `such broadcasts per second; ${processes} processes on ${processes} cores about ` +
      `${f((1000 / eventCostMs) * processes, 1)}. p99 latency per process scales with its streams: ` +
      `${f(fo.p99Ms, 0)} ms × ${f(perProcess)} / ${f(r.streams)} ≈ **${f(p99PerProcess, 0)} ms** ` +
      `at ${f(perProcess)} streams each (one process with all 100,000 would be ` +
      `≈ ${f((fo.p99Ms * TARGET) / r.streams, 0)} ms).`,
    `- **Processes per host**: a process may open ${f(FILES_PER_PROCESS)} files here, so 100,000 ` +
      `streams need at least ⌈100,000 / ${f(STREAMS_PER_PROCESS)}⌉ = **${processes} processes** ` +
      '(keeping a quarter of the descriptors for Redis, logs and headroom); Node runs one ' +
      `event loop per process, so give each its own core: a host with ${processes} cores and ` +
      `${f(Math.ceil((memoryAll * 1.5) / 2 ** 30))} GiB (memory × 1.5 for garbage and bursts) ` +
      'holds 100k streams, or raise the descriptor limit and run fewer, larger processes at the ' +
      'cost of latency.',
    '',
  ];
  return lines.join('\n');
}

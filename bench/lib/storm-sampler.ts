import { readFileSync } from 'node:fs';

/** CPU time of a process so far (user + system), in ms, from /proc/<pid>/stat (Linux). */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name may hold spaces: the fields start after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, in USER_HZ (100 per second).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Resident memory of a process now, in bytes, from /proc/<pid>/status. */
export function processRss(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1];
    return kb === undefined ? NaN : Number(kb) * 1024;
  } catch {
    return NaN;
  }
}

/** Busy time of every core so far, in ms, from the first line of /proc/stat. */
export function machineBusyMs(): number {
  try {
    const fields = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!.trim().split(/\s+/);
    const [user, nice, system, , , irq, softirq, steal] = fields.slice(1).map(Number);
    return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) * 10;
  } catch {
    return NaN;
  }
}

/** What a {@link ProcSampler} saw of one process. */
export interface ProcPeak {
  /** The most cores it used over one sampling window. */
  peakCores: number;
  /** Cores on average over the whole sampling. */
  meanCores: number;
  cpuMs: number;
  peakRss: number;
  rssAtStart: number;
}

/**
 * Samples processes from outside (no event loop of theirs involved, so a saturated server
 * is measured as it is): CPU per window and RSS, and the machine's busy time, for the share
 * other work took.
 */
export class ProcSampler {
  private readonly timer: NodeJS.Timeout;
  private readonly started = performance.now();
  private readonly busyAtStart = machineBusyMs();
  private readonly state = new Map<
    string,
    { pid: number; last: number; first: number; peakCores: number; peakRss: number; rss0: number }
  >();
  private lastAt = performance.now();

  constructor(pids: Record<string, number>, windowMs = 250) {
    for (const [name, pid] of Object.entries(pids)) {
      const cpu = processCpuMs(pid);
      const rss = processRss(pid);
      this.state.set(name, { pid, last: cpu, first: cpu, peakCores: 0, peakRss: rss, rss0: rss });
    }
    this.timer = setInterval(() => this.sample(), windowMs);
  }

  private sample(): void {
    const now = performance.now();
    const elapsed = now - this.lastAt;
    this.lastAt = now;
    for (const s of this.state.values()) {
      const cpu = processCpuMs(s.pid);
      if (Number.isFinite(cpu)) {
        s.peakCores = Math.max(s.peakCores, (cpu - s.last) / elapsed);
        s.last = cpu;
      }
      const rss = processRss(s.pid);
      if (Number.isFinite(rss)) s.peakRss = Math.max(s.peakRss, rss);
    }
  }

  /** Stops, and reports every process, and the cores everything else used meanwhile. */
  stop(): { processes: Record<string, ProcPeak>; othersCores: number; seconds: number } {
    this.sample();
    clearInterval(this.timer);
    const wall = performance.now() - this.started;
    const processes: Record<string, ProcPeak> = {};
    let ours = 0;
    for (const [name, s] of this.state) {
      const cpuMs = s.last - s.first;
      ours += cpuMs;
      processes[name] = {
        peakCores: s.peakCores,
        meanCores: cpuMs / wall,
        cpuMs,
        peakRss: s.peakRss,
        rssAtStart: s.rss0,
      };
    }
    return {
      processes,
      othersCores: (machineBusyMs() - this.busyAtStart - ours) / wall,
      seconds: wall / 1000,
    };
  }
}

/** What a benchmarked server has used so far, as its `usage` command answers. */
export interface ServerUsage {
  /** CPU time in user mode (every thread of the process), ms. */
  userMs: number;
  /** CPU time in the kernel (sockets: accept, read, write, close), ms. */
  systemMs: number;
  /** Time the main thread spent paused for GC, ms, and the number of pauses. */
  gcMs: number;
  gcCount: number;
  heapUsed: number;
}

/**
 * What the streams of one route wrote and dropped since start-up: plain numbers the metrics read
 * when they are collected, so that no event pays for an instrument call. While the metrics
 * record, each stream is given its route's tally, and the registry adds to it with its own
 * counters.
 */
export class RouteCounters {
  eventsWritten = 0;
  bytesWritten = 0;
  eventsDropped = 0;

  constructor(
    /** The route's path template (`http.route`), or `Class.method` when the platform hides it. */
    readonly route: string,
  ) {}
}

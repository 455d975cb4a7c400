const NO_CONTENT = Object.freeze({ kind: 'nestjs-event-stream:no-content' as const });

/** What {@link noContent} returns. */
export type NoContent = typeof NO_CONTENT;

/**
 * Returned by an `@EventStream()` handler instead of a stream, answers `204 No Content`: the one
 * status that tells a browser's `EventSource` to stop reconnecting, without an error.
 *
 * @example
 * ```ts
 * @EventStream('jobs/:id')
 * async progress(@Param('id') id: string) {
 *   const job = await this.jobs.find(id);
 *   return job.done ? noContent() : this.jobs.progress$(id);
 * }
 * ```
 */
export function noContent(): NoContent {
  return NO_CONTENT;
}

export function isNoContent(value: unknown): value is NoContent {
  return value === NO_CONTENT;
}

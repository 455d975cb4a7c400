import { SseError } from './sse.error.js';

/**
 * An option of `SseModule.forRoot()` or of an `@EventStream()` route has a value that cannot
 * work; thrown while the application starts (or where the route is declared), never on a
 * request. `option` names it.
 *
 * @example
 * ```ts
 * SseModule.forRoot({ retryMs: 1500.5 });
 * // InvalidOptionError: SseModule.forRoot(): option "retryMs" must be a whole number of
 * // milliseconds from 0 to 2147483647, got 1500.5.
 * ```
 */
export class InvalidOptionError extends SseError {
  readonly code = 'SSE_INVALID_OPTION';

  constructor(
    readonly where: string,
    readonly option: string,
    expected: string,
    value: unknown,
  ) {
    super(`${where}: option "${option}" must be ${expected}, got ${describe(value)}.`);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (value !== null && typeof value === 'object') {
    return Array.isArray(value) ? 'an array' : 'an object';
  }
  return String(value);
}

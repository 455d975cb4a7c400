/**
 * Base class of the errors this library throws; each subclass has a stable `code`.
 *
 * @example
 * ```ts
 * if (err instanceof SseError) logger.warn(`${err.code}: ${err.message}`);
 * ```
 */
export abstract class SseError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

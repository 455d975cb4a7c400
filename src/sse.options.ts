import type { RequestMethod } from '@nestjs/common';

/**
 * Options of `SseModule.forRoot()`. Every field is optional; {@link resolveOptions} fills in the
 * defaults, which live only here.
 *
 * @example
 * ```ts
 * SseModule.forRoot({ errorEvent: 'failure' })
 * ```
 */
export interface SseModuleOptions {
  /**
   * Name of the last event a stream sends when its source fails after the stream opened. Not
   * `error`: a browser's `EventSource` fires its own `error` event on every disconnect.
   * @default 'stream-error'
   */
  errorEvent?: string;
}

/**
 * Options of one `@EventStream()` route; those shared with {@link SseModuleOptions} override the
 * module's for this route.
 *
 * @example
 * ```ts
 * @EventStream('completions', { method: RequestMethod.POST })
 * ```
 */
export interface EventStreamOptions extends Pick<SseModuleOptions, 'errorEvent'> {
  /**
   * HTTP method of the route, as Nest's `@Sse()` takes it (POST for streaming LLM answers).
   * @default RequestMethod.GET
   */
  method?: RequestMethod;
}

/** The module options with every default applied. */
export type ResolvedSseOptions = Required<SseModuleOptions>;

/** What one stream runs with: the module's options overridden by its route's. */
export type StreamSettings = ResolvedSseOptions;

const DEFAULTS: ResolvedSseOptions = {
  errorEvent: 'stream-error',
};

/**
 * Applies the defaults to the module options.
 *
 * @example
 * ```ts
 * resolveOptions({}).errorEvent; // 'stream-error'
 * ```
 */
export function resolveOptions(options: SseModuleOptions = {}): ResolvedSseOptions {
  return {
    errorEvent: options.errorEvent ?? DEFAULTS.errorEvent,
  };
}

/**
 * The settings of one route: its own options over the module's.
 *
 * @example
 * ```ts
 * routeSettings(resolveOptions({}), { errorEvent: 'oops' }).errorEvent; // 'oops'
 * ```
 */
export function routeSettings(
  module: ResolvedSseOptions,
  route: EventStreamOptions,
): StreamSettings {
  return {
    errorEvent: route.errorEvent ?? module.errorEvent,
  };
}

import { SseError } from './sse.error.js';

/**
 * A request reached an `@EventStream()` handler of an application that does not import
 * `SseModule`, so nothing negotiates or writes the stream.
 *
 * @example
 * ```ts
 * @Module({ imports: [SseModule.forRoot()], controllers: [FeedController] })
 * export class AppModule {}
 * ```
 */
export class SseModuleMissingError extends SseError {
  readonly code = 'SSE_MODULE_MISSING';

  constructor(handler: string) {
    super(
      `${handler} is an @EventStream() route, but the application does not import SseModule.forRoot().`,
    );
  }
}

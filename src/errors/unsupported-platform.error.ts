import { SseError } from './sse.error.js';

/**
 * The application runs on an HTTP adapter this library cannot pair routes on; thrown at
 * start-up, so that no stream route half-works.
 *
 * @example
 * ```ts
 * const app = await NestFactory.create(AppModule, new FastifyAdapter()); // supported
 * ```
 */
export class UnsupportedPlatformError extends SseError {
  readonly code = 'SSE_UNSUPPORTED_PLATFORM';

  constructor(type: string, supported: readonly string[]) {
    super(
      `SseModule cannot serve @EventStream() routes on the "${type}" HTTP adapter; the supported ` +
        `ones are ${supported.map((name) => `"${name}"`).join(' and ')} ` +
        '(@nestjs/platform-express, @nestjs/platform-fastify).',
    );
  }
}

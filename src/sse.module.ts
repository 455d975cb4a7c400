import { type DynamicModule, Module, type NestModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { StreamRegistry } from './connection/stream-registry.js';
import { SseHub } from './hub/sse-hub.js';
import { OPENTELEMETRY_API_PROVIDER } from './metrics/opentelemetry-api-loader.js';
import { SseMetrics } from './metrics/sse-metrics.js';
import { RouteDispatcher } from './negotiation/route-dispatcher.js';
import { ConfigurableModuleClass, type OPTIONS_TYPE } from './sse.module-definition.js';

/**
 * Serves the `@EventStream()` routes of the application. Import it once, in the root module.
 *
 * @example
 * ```ts
 * @Module({ imports: [SseModule.forRoot()], controllers: [HelloController] })
 * export class AppModule {}
 * ```
 */
@Module({
  imports: [DiscoveryModule],
  providers: [StreamRegistry, RouteDispatcher, SseHub, SseMetrics, OPENTELEMETRY_API_PROVIDER],
  exports: [StreamRegistry, SseHub],
})
export class SseModule extends ConfigurableModuleClass implements NestModule {
  /** Registers the module, with every option at its default unless given. */
  static override forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  constructor(private readonly dispatcher: RouteDispatcher) {
    super();
  }

  configure(): void {
    // Nest calls this right before it registers the routes.
    this.dispatcher.capture();
  }
}

import { Module } from '@nestjs/common';
import { SseModule, type SseModuleOptions } from '../../../src/index.js';
import { CountingInterceptor } from './counting.interceptor.js';
import { FastifyProbe } from './fastify-probe.js';
import { FeaturesController } from './features.controller.js';
import { KeyGuard } from './key.guard.js';
import { QuickStartController } from './quick-start.controller.js';
import { VersionsController } from './versions.controller.js';

/**
 * The Fastify fixture routes, on `SseModule.forRoot(options)`; the versioned ones only for an
 * application that enables versioning (without it, two versions are one route: Fastify refuses).
 */
export function fastifyAppModule(options: SseModuleOptions = {}, { versioned = false } = {}) {
  @Module({
    imports: [SseModule.forRoot(options)],
    controllers: [
      QuickStartController,
      FeaturesController,
      ...(versioned ? [VersionsController] : []),
    ],
    providers: [FastifyProbe, KeyGuard, CountingInterceptor],
  })
  class FastifyAppModule {}
  return FastifyAppModule;
}

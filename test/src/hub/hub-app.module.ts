import { type DynamicModule, Module } from '@nestjs/common';
import { SseModule, type SseModuleOptions } from '../../../src/index.js';
import { HubController } from './hub.controller.js';
import { HubPatternsController } from './hub-patterns.controller.js';
import { JobRunner } from './job-runner.js';
import { JobsController } from './jobs.controller.js';
import { ReconnectGate } from './reconnect-gate.js';

/**
 * Hub streams, a Last-Event-ID echo, the resumable-producer recipe, and the per-user and
 * reconnect patterns (`/patterns`), on a given broker.
 */
@Module({})
export class HubAppModule {
  static register(options: SseModuleOptions): DynamicModule {
    return {
      module: HubAppModule,
      imports: [SseModule.forRoot(options)],
      controllers: [HubController, JobsController, HubPatternsController],
      providers: [JobRunner, ReconnectGate],
    };
  }
}

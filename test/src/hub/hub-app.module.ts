import { type DynamicModule, Module } from '@nestjs/common';
import { SseModule, type SseModuleOptions } from '../../../src/index.js';
import { HubController } from './hub.controller.js';
import { JobRunner } from './job-runner.js';
import { JobsController } from './jobs.controller.js';

/** Hub streams, a Last-Event-ID echo, and the resumable-producer recipe, on a given broker. */
@Module({})
export class HubAppModule {
  static register(options: SseModuleOptions): DynamicModule {
    return {
      module: HubAppModule,
      imports: [SseModule.forRoot(options)],
      controllers: [HubController, JobsController],
      providers: [JobRunner],
    };
  }
}

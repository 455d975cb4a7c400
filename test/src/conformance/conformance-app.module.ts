import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { SseModule, type SseModuleOptions } from '../../../src/index.js';
import { CallLog } from '../../support/call-log.js';
import { CleanupProbe } from '../cleanup/cleanup-probe.js';
import { EventFeed } from '../production/event-feed.js';
import { PullProbe } from '../production/pull-probe.js';
import { ConformanceController } from './conformance.controller.js';

/** The conformance suites' application: the module's options and the controllers of a suite. */
@Module({})
export class ConformanceAppModule {
  static with(options: SseModuleOptions = {}, controllers: Type[] = []): DynamicModule {
    return {
      module: ConformanceAppModule,
      imports: [SseModule.forRoot(options)],
      controllers: [ConformanceController, ...controllers],
      providers: [CleanupProbe, EventFeed, PullProbe, CallLog],
    };
  }
}

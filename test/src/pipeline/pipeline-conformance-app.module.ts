import { type DynamicModule, Module } from '@nestjs/common';
import { SseModule, type SseModuleOptions } from '../../../src/index.js';
import { MappingProbe } from './mapping-probe.js';
import { ObservedController } from './observed.controller.js';
import { ParamsController } from './params.controller.js';
import { PipelineProbe } from './pipeline-probe.js';
import { QuotaReplyController } from './quota-reply.controller.js';
import { SecureController } from './secure.controller.js';
import { ShapedController } from './shaped.controller.js';

/**
 * The pipeline fixtures that run on every platform (the exception filter answers through the
 * HTTP adapter), with the module's options of a test.
 */
@Module({})
export class PipelineConformanceAppModule {
  static with(options: SseModuleOptions = {}): DynamicModule {
    return {
      module: PipelineConformanceAppModule,
      imports: [SseModule.forRoot(options)],
      controllers: [
        SecureController,
        ParamsController,
        QuotaReplyController,
        ObservedController,
        ShapedController,
      ],
      providers: [PipelineProbe, MappingProbe],
    };
  }
}

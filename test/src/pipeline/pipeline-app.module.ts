import { Module } from '@nestjs/common';
import { SseModule } from '../../../src/index.js';
import { ObservedController } from './observed.controller.js';
import { ParamsController } from './params.controller.js';
import { PipelineProbe } from './pipeline-probe.js';
import { QuotaController } from './quota.controller.js';
import { SecureController } from './secure.controller.js';

/** Streams through guards, pipes, parameter decorators, exception filters and interceptors. */
@Module({
  imports: [SseModule.forRoot()],
  controllers: [SecureController, ParamsController, QuotaController, ObservedController],
  providers: [PipelineProbe],
})
export class PipelineAppModule {}

import { type DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { type SseBroker, SseModule } from '../../../src/index.js';
import { ReadinessController } from './readiness.controller.js';

/** A readiness probe on the hub's broker (the memory broker when none is given). */
@Module({})
export class HealthAppModule {
  static register(broker?: SseBroker): DynamicModule {
    return {
      module: HealthAppModule,
      imports: [TerminusModule.forRoot({ logger: false }), SseModule.forRoot({ broker })],
      controllers: [ReadinessController],
    };
  }
}

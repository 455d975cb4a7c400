import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { SseModule, type SseModuleOptions } from '../../../src/index.js';
import { PlatformRequestsController } from './platform-requests.controller.js';
import { RequestProbe } from './request-probe.js';

/** The platform-requests routes on `SseModule.forRoot(options)`, with the test's own probe. */
@Module({})
export class PlatformRequestsAppModule {
  static with(
    options: SseModuleOptions,
    probe: RequestProbe,
    controllers: Type[] = [PlatformRequestsController],
  ): DynamicModule {
    return {
      module: PlatformRequestsAppModule,
      imports: [SseModule.forRoot({ heartbeatMs: 0, ...options })],
      controllers,
      providers: [{ provide: RequestProbe, useValue: probe }],
    };
  }
}

import { Module } from '@nestjs/common';
import { SseModule } from '../../../src/index.js';
import { ErrorsController } from './errors.controller.js';
import { EventsController } from './events.controller.js';
import { HeadersController } from './headers.controller.js';
import { LifecycleProbe } from './lifecycle-probe.js';

/** The lifecycle fixtures with the module's default options. */
@Module({
  imports: [SseModule.forRoot()],
  controllers: [EventsController, ErrorsController, HeadersController],
  providers: [LifecycleProbe],
})
export class LifecycleAppModule {}

import { Module } from '@nestjs/common';
import { SseModule } from '../../../src/index.js';
import { ErrorsController } from './errors.controller.js';

/** The failing streams, under a module-wide error event name of their own. */
@Module({
  imports: [SseModule.forRoot({ errorEvent: 'failure' })],
  controllers: [ErrorsController],
})
export class CustomErrorEventAppModule {}

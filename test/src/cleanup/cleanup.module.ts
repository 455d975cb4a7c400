import { Module } from '@nestjs/common';
import { SseModule } from '../../../src/index.js';
import { CleanupController } from './cleanup.controller.js';
import { CleanupProbe } from './cleanup-probe.js';

/** A stream whose timer only a disconnect can stop, and one the test drives by hand. */
@Module({
  imports: [SseModule.forRoot()],
  controllers: [CleanupController],
  providers: [CleanupProbe],
})
export class CleanupModule {}

import { Module } from '@nestjs/common';
import { SseModule } from '../../../src/index.js';
import { CleanupProbe } from '../cleanup/cleanup-probe.js';
import { HelloController } from './hello.controller.js';
import { StreamOnlyController } from './stream-only.controller.js';

/** The quick start as the README shows it, plus a stream-only path. */
@Module({
  imports: [SseModule.forRoot()],
  controllers: [HelloController, StreamOnlyController],
  providers: [CleanupProbe],
})
export class QuickStartAppModule {}

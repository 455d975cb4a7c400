import { Module } from '@nestjs/common';
import { SseModule } from '../../../src/index.js';
import { CleanupProbe } from '../cleanup/cleanup-probe.js';
import { NewsController } from './news.controller.js';

/** Streams and large plain answers on one path, for an app that registers @fastify/compress. */
@Module({
  imports: [SseModule.forRoot({ heartbeatMs: 1000 })],
  controllers: [NewsController],
  providers: [CleanupProbe],
})
export class CompressAppModule {}

import { Module } from '@nestjs/common';
import { SseModule } from '../../../src/index.js';
import { VersionedController } from './versioned.controller.js';

/** Served with `app.enableVersioning({ type: VersioningType.URI })`. */
@Module({
  imports: [SseModule.forRoot()],
  controllers: [VersionedController],
})
export class VersionedAppModule {}

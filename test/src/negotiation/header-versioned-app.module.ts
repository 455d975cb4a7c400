import { Module } from '@nestjs/common';
import { SseModule } from '../../../src/index.js';
import { HeaderVersionedController } from './header-versioned.controller.js';

/** Served with `app.enableVersioning({ type: VersioningType.HEADER, header: 'x-api-version' })`. */
@Module({
  imports: [SseModule.forRoot()],
  controllers: [HeaderVersionedController],
})
export class HeaderVersionedAppModule {}

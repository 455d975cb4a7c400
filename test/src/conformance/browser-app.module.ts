import { Module } from '@nestjs/common';
import { SseModule } from '../../../src/index.js';
import { BrowserController } from './browser.controller.js';
import { BrowserStreams } from './browser-streams.js';

@Module({
  imports: [SseModule.forRoot()],
  controllers: [BrowserController],
  providers: [BrowserStreams],
})
export class BrowserAppModule {}

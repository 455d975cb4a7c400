import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { SseModule } from '../../../src/index.js';
import { QuietController } from './quiet.controller.js';
import { TimeoutInterceptor } from './timeout.interceptor.js';

/** A quiet stream under a global timeout interceptor. */
@Module({
  imports: [SseModule.forRoot()],
  controllers: [QuietController],
  providers: [{ provide: APP_INTERCEPTOR, useClass: TimeoutInterceptor }],
})
export class TimeoutAppModule {}

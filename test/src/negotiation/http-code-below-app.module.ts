import { Module } from '@nestjs/common';
import { SseModule } from '../../../src/index.js';
import { HttpCodeBelowController } from './http-code-below.controller.js';

/** Must not start: a stream route with `@HttpCode(202)`. */
@Module({ imports: [SseModule.forRoot()], controllers: [HttpCodeBelowController] })
export class HttpCodeBelowAppModule {}

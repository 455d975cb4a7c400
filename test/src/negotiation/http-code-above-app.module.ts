import { Module } from '@nestjs/common';
import { SseModule } from '../../../src/index.js';
import { HttpCodeAboveController } from './http-code-above.controller.js';

/** Must not start: a stream route with `@HttpCode(201)`. */
@Module({ imports: [SseModule.forRoot()], controllers: [HttpCodeAboveController] })
export class HttpCodeAboveAppModule {}

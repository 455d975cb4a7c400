import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SseModule } from '../../../src/index.js';
import { CallLog } from '../../support/call-log.js';
import { ChatController } from './chat.controller.js';
import { CountingGuard } from './counting.guard.js';
import { FeedController } from './feed.controller.js';
import { GuardedController } from './guarded.controller.js';
import { JobsController } from './jobs.controller.js';
import { StreamFirstController } from './stream-first.controller.js';
import { StreamOnlyController } from './stream-only.controller.js';
import { VaryController } from './vary.controller.js';

function varyOnOrigin(_req: IncomingMessage, res: ServerResponse, next: () => void): void {
  res.setHeader('Vary', 'Origin');
  next();
}

/** Every negotiation case on one application, behind a global guard that counts its calls. */
@Module({
  imports: [SseModule.forRoot()],
  controllers: [
    FeedController,
    StreamFirstController,
    StreamOnlyController,
    GuardedController,
    VaryController,
    ChatController,
    JobsController,
  ],
  providers: [CallLog, { provide: APP_GUARD, useClass: CountingGuard }],
})
export class NegotiationAppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(varyOnOrigin).forRoutes('vary/middleware');
  }
}

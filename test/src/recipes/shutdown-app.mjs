// The README's SIGTERM recipe, as a deployed app runs it: a process of its own, on the built
// package, with `enableShutdownHooks()`. Plain ESM JavaScript (no TypeScript loader), so the
// decorators are applied by hand, as TypeScript would emit them.
//
// Environment: SSE_LIBRARY (URL of the built index.js). Started with fork(): it sends { port }
// once listening.
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NEVER } from 'rxjs';

const { EventStream, SseModule } = await import(process.env.SSE_LIBRARY);

class UpdatesController {
  /** GET /updates — a stream that stays open until the server ends it. */
  updates() {
    return NEVER;
  }
}
const descriptor = Object.getOwnPropertyDescriptor(UpdatesController.prototype, 'updates');
Object.defineProperty(
  UpdatesController.prototype,
  'updates',
  EventStream('updates')(UpdatesController.prototype, 'updates', descriptor) ?? descriptor,
);
Controller()(UpdatesController);

// oxlint-disable-next-line no-extraneous-class -- a Nest module: a class that carries metadata
class AppModule {}
Module({
  imports: [
    SseModule.forRoot({
      shutdownEvent: { type: 'shutdown', data: 'restarting' },
      reconnectDelayMs: 1000,
      reconnectJitterMs: 4000,
      shutdownGraceMs: 5000,
    }),
  ],
  controllers: [UpdatesController],
})(AppModule);

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
// SIGTERM (what Kubernetes, Docker and systemd send) runs app.close(): every open stream gets
// the shutdown event, a retry hint and its end, then the process exits.
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
process.send({ port: app.getHttpServer().address().port });

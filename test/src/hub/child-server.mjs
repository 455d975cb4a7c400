// A second instance of the hub app, in a process of its own: nothing passes between it and the
// test's instance but what the broker carries. Plain ESM JavaScript on the built package (no
// TypeScript loader), so decorators are applied by hand, as TypeScript would emit them.
//
// Environment: SSE_LIBRARY (URL of the built index.js; default ../../../dist/index.js),
// SSE_BROKER ('redis' | 'memory'), SSE_REDIS_URL, SSE_KEY_PREFIX.
// Started with fork(): it sends { port } once listening, and closes on SIGTERM or when the
// parent goes away.
import 'reflect-metadata';
import { Body, Controller, HttpCode, Inject, Module, Param, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

const library = process.env.SSE_LIBRARY ?? new URL('../../../dist/index.js', import.meta.url).href;
const { EventStream, LastEventId, SseHub, SseModule, memoryBroker, redisBroker } = await import(
  library
);

/** `method` of `proto`, decorated by `decorators` (the first listed is applied last). */
function decorate(proto, method, ...decorators) {
  let descriptor = Object.getOwnPropertyDescriptor(proto, method);
  for (const decorator of decorators.toReversed()) {
    descriptor = decorator(proto, method, descriptor) ?? descriptor;
  }
  Object.defineProperty(proto, method, descriptor);
}

class FeedController {
  constructor(hub) {
    this.hub = hub;
  }

  /** GET /feed/:channel — the channel, resumed from the client's Last-Event-ID. */
  feed(channel, lastEventId) {
    return this.hub.stream(channel, { lastEventId });
  }

  /** POST /publish/:channel — publishes the JSON body, answers with the id it was given. */
  async publish(channel, body) {
    return { id: await this.hub.publish(channel, body) };
  }
}
Inject(SseHub)(FeedController, undefined, 0);
Param('channel')(FeedController.prototype, 'feed', 0);
LastEventId()(FeedController.prototype, 'feed', 1);
decorate(FeedController.prototype, 'feed', EventStream('feed/:channel'));
Param('channel')(FeedController.prototype, 'publish', 0);
Body()(FeedController.prototype, 'publish', 1);
decorate(FeedController.prototype, 'publish', Post('publish/:channel'), HttpCode(200));
Controller()(FeedController);

const broker =
  process.env.SSE_BROKER === 'memory'
    ? memoryBroker()
    : redisBroker({ url: process.env.SSE_REDIS_URL, keyPrefix: process.env.SSE_KEY_PREFIX });

// oxlint-disable-next-line no-extraneous-class -- a Nest module: a class that carries metadata
class ChildAppModule {}
Module({
  imports: [SseModule.forRoot({ broker, heartbeatMs: 0 })],
  controllers: [FeedController],
})(ChildAppModule);

const app = await NestFactory.create(ChildAppModule, { logger: ['error', 'warn'] });
await app.listen(0, '127.0.0.1');

let closing;
function shutdown() {
  closing ??= app.close().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
process.once('SIGTERM', shutdown);
process.once('disconnect', shutdown);
process.send({ port: app.getHttpServer().address().port });

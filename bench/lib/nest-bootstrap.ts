import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import { Feed } from './feed.js';
import { portFromArgs, runBenchServer } from './server-kit.js';

/**
 * Starts a Nest application (Express, the default adapter) on 127.0.0.1 and hands it to the
 * bench kit: the same bootstrap for the built-in `@Sse()` and for nestjs-event-stream.
 */
export async function startNestBenchServer(
  module: Parameters<typeof NestFactory.create>[0],
  extra?: (app: INestApplication) => () => Record<string, unknown>,
): Promise<void> {
  const app = await NestFactory.create(module, { logger: ['error', 'warn'] });
  const port = portFromArgs();
  await app.listen(port, '127.0.0.1');
  const http = app.getHttpServer() as Server;
  const address = http.address();
  const feed = app.get(Feed);
  runBenchServer(
    {
      http,
      publish: (event) => feed.publish(event),
      subscribers: () => feed.subscribers(),
      extra: extra?.(app),
    },
    typeof address === 'object' && address !== null ? address.port : port,
  );
}

import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { Server } from 'node:http';
import { Feed } from './feed.js';
import { portFromArgs, runBenchServer } from './server-kit.js';

/**
 * Starts a Nest application on 127.0.0.1 and hands it to the bench kit: the same bootstrap for
 * the built-in `@Sse()` and for nestjs-event-stream. The adapter is Express (Nest's default)
 * unless the server runs with `--adapter fastify` (HTTP/1.1) or `--adapter fastify-h2c`.
 */
export async function startNestBenchServer(
  module: Parameters<typeof NestFactory.create>[0],
  extra?: (app: INestApplication) => () => Record<string, unknown>,
): Promise<void> {
  const adapter = adapterFromArgs();
  const options = { logger: ['error' as const, 'warn' as const] };
  const app =
    adapter === undefined
      ? await NestFactory.create(module, options)
      : await NestFactory.create(module, adapter, options);
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

/** `--adapter express|fastify|fastify-h2c`; undefined is Express, Nest's default. */
function adapterFromArgs(): FastifyAdapter | undefined {
  const args = process.argv.slice(2);
  const flag = args.indexOf('--adapter');
  const name = flag >= 0 ? args[flag + 1] : 'express';
  if (name === 'express') return undefined;
  if (name === 'fastify') return new FastifyAdapter();
  if (name === 'fastify-h2c') return new FastifyAdapter({ http2: true });
  throw new Error(`--adapter: express, fastify or fastify-h2c, not "${name}"`);
}

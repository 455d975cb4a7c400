import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import {
  openEventStream,
  type OpenEventStreamOptions,
  type TestEventStream,
} from '../../src/testing/index.js';
import { plainRequest, type PlainResponse } from './plain-request.js';
import { generateCertificate, type TestCertificate } from './tls-certificate.js';

/** The platforms every conformance suite runs over. */
export type PlatformName = 'express-h1' | 'fastify-h1' | 'fastify-h2c' | 'fastify-h2-tls';

/** One application of a platform, listening on 127.0.0.1, with clients that speak its protocol. */
export interface PlatformApp {
  readonly app: INestApplication;
  readonly platform: Platform;
  /** `http://127.0.0.1:<port>` or `https://…`. */
  readonly origin: string;
  /** The test certificate of a TLS platform (trusted by the clients below). */
  readonly certificate?: TestCertificate;
  /** A stream with `nestjs-event-stream/testing`, over the platform's protocol. */
  openEventStream(options?: OpenEventStreamOptions): Promise<TestEventStream>;
  /**
   * A request read to its end: raw bytes on a socket for HTTP/1.1, a `node:http2` session for
   * HTTP/2. Without `accept` in `headers`, none is sent.
   */
  request(path: string, headers?: Record<string, string>, method?: string): Promise<PlainResponse>;
  close(): Promise<void>;
}

/** A row of {@link PLATFORMS}. */
export interface Platform {
  readonly name: PlatformName;
  readonly adapter: 'express' | 'fastify';
  /** The HTTP version the clients speak. */
  readonly protocol: '1.1' | '2';
  readonly secure: boolean;
  /**
   * Why this row cannot pass on this branch yet, naming the missing piece: the row is skipped and
   * the reason printed. Delete the line once the piece is merged. `SSE_CONFORMANCE_ALL=1` runs
   * the row anyway (to see where it stands).
   */
  readonly pending?: string;
  /** Starts `module` on this platform: `NestFactory.create` with its adapter, listening on port 0. */
  createApp(
    module: Type | DynamicModule,
    configure?: (app: INestApplication) => void,
  ): Promise<PlatformApp>;
}

function row(
  name: PlatformName,
  adapter: Platform['adapter'],
  protocol: Platform['protocol'],
  secure: boolean,
  makeAdapter: (certificate?: TestCertificate) => ExpressAdapter | FastifyAdapter,
  pending?: string,
): Platform {
  const platform: Platform = {
    name,
    adapter,
    protocol,
    secure,
    pending,
    async createApp(module, configure) {
      const certificate = secure ? await generateCertificate() : undefined;
      const app = await NestFactory.create(module, makeAdapter(certificate), {
        logger: false,
        abortOnError: false,
      });
      configure?.(app);
      await app.listen(0, '127.0.0.1');
      return platformApp(platform, app, certificate);
    },
  };
  return platform;
}

function platformApp(
  platform: Platform,
  app: INestApplication,
  certificate: TestCertificate | undefined,
): PlatformApp {
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
  const origin = `${platform.secure ? 'https' : 'http'}://127.0.0.1:${port}`;
  const tls = certificate === undefined ? undefined : { ca: certificate.cert };
  const target = { origin, protocol: platform.protocol, ca: certificate?.cert };
  return {
    app,
    platform,
    origin,
    certificate,
    openEventStream: (options = {}) =>
      openEventStream(app, { http2: platform.protocol === '2', tls, ...options }),
    request: (path, headers, method) => plainRequest(target, path, headers, method),
    close: () => app.close(),
  };
}

/**
 * Every platform, for `describe.each(PLATFORMS)`: Express over HTTP/1.1, Fastify over HTTP/1.1,
 * cleartext HTTP/2 (h2c) and TLS HTTP/2 (`allowHTTP1`, for browsers).
 *
 * @example
 * ```ts
 * describe.each(runnable(PLATFORMS))('$name', (platform) => { ... platform.createApp(AppModule) });
 * ```
 */
export const PLATFORMS: readonly Platform[] = [
  row('express-h1', 'express', '1.1', false, () => new ExpressAdapter()),
  row('fastify-h1', 'fastify', '1.1', false, () => new FastifyAdapter()),
  row('fastify-h2c', 'fastify', '2', false, () => new FastifyAdapter({ http2: true })),
  row(
    'fastify-h2-tls',
    'fastify',
    '2',
    true,
    (certificate) =>
      new FastifyAdapter({
        http2: true,
        https: { key: certificate!.key, cert: certificate!.cert, allowHTTP1: true },
      }),
  ),
];

/** The rows a conformance suite runs on: express-h1, fastify-h1 and fastify-h2c. */
export const CONFORMANCE_PLATFORMS: readonly Platform[] = PLATFORMS.filter(
  (platform) => platform.name !== 'fastify-h2-tls',
);

/**
 * Whether `platform` runs in `file`; prints why not (once per row and file) when it is pending.
 * Use as `describe.skipIf(!runs(platform, file))`.
 */
export function runs(platform: Platform, file: string): boolean {
  if (platform.pending === undefined || process.env.SSE_CONFORMANCE_ALL === '1') return true;
  console.warn(`[${file}] ${platform.name} skipped until merged: ${platform.pending}.`);
  return false;
}

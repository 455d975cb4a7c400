import type { INestApplication, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { SseModule, type SseModuleOptions } from '../../../src/index.js';
import { CallLog } from '../../support/call-log.js';
import { EventFeed } from './event-feed.js';
import { PullProbe } from './pull-probe.js';

/**
 * An application of the given controllers on `SseModule.forRoot(options)`, listening on an
 * ephemeral port of 127.0.0.1. Each test builds its own, so every counter starts from zero.
 */
export async function startProductionApp(
  options: SseModuleOptions,
  controllers: Type[],
  /** Runs before the application listens: where a test adds its own middleware. */
  beforeListen?: (app: INestApplication) => void,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [SseModule.forRoot(options)],
    controllers,
    providers: [CallLog, EventFeed, PullProbe],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  beforeListen?.(app);
  await app.listen(0, '127.0.0.1');
  return app;
}

/** The port an application listens on. */
export function portOf(app: INestApplication): number {
  return (app.getHttpServer().address() as AddressInfo).port;
}

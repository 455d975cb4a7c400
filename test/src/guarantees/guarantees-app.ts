import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SseModule, type SseModuleOptions } from '../../../src/index.js';
import { GuaranteesController } from './guarantees.controller.js';
import { GuaranteesProbe } from './guarantees-probe.js';

/** The guarantees routes on `SseModule.forRoot(options)`, listening on 127.0.0.1. */
export async function startGuaranteesApp(
  options: SseModuleOptions = {},
  beforeListen?: (app: INestApplication) => void,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [SseModule.forRoot(options)],
    controllers: [GuaranteesController],
    providers: [GuaranteesProbe],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  beforeListen?.(app);
  await app.listen(0, '127.0.0.1');
  return app;
}

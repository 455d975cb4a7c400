import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SseModule, type SseModuleOptions } from '../../../src/index.js';
import { AttackController } from './attack.controller.js';
import { AttackProbe } from './attack-probe.js';

export { portOf as portOfApp } from '../production/production-app.js';

/** The attack routes on `SseModule.forRoot(options)`, listening on 127.0.0.1. */
export async function startAttackApp(
  options: SseModuleOptions = {},
  beforeListen?: (app: INestApplication) => void,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [SseModule.forRoot({ heartbeatMs: 0, ...options })],
    controllers: [AttackController],
    providers: [AttackProbe],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  beforeListen?.(app);
  await app.listen(0, '127.0.0.1');
  return app;
}

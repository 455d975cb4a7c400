import type { INestApplication, Provider, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SseModule, type SseModuleOptions } from '../../../src/index.js';

/** The recipe's controllers and providers on `SseModule.forRoot(options)`, listening on 127.0.0.1. */
export async function startRecipe(
  options: SseModuleOptions,
  controllers: Type[],
  providers: Provider[] = [],
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [SseModule.forRoot(options)],
    controllers,
    providers,
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return app;
}

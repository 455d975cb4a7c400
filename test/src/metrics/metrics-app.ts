import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SseModule, type SseModuleOptions } from '../../../src/index.js';
import {
  OPENTELEMETRY_API_LOADER,
  type OpenTelemetryApiLoader,
} from '../../../src/metrics/opentelemetry-api-loader.js';
import { NotificationsController } from './notifications.controller.js';

/**
 * The notifications app on `SseModule.forRoot(options)`, listening on an ephemeral port of
 * 127.0.0.1; `loadApi` replaces how the module imports `@opentelemetry/api`. `beforeInit` runs
 * once the providers are built (compiled) and before the lifecycle hooks run (init).
 */
export async function startMetricsApp(
  options: SseModuleOptions,
  loadApi?: OpenTelemetryApiLoader,
  beforeInit?: () => void,
): Promise<INestApplication> {
  let builder = Test.createTestingModule({
    imports: [SseModule.forRoot({ heartbeatMs: 0, ...options })],
    controllers: [NotificationsController],
  });
  if (loadApi !== undefined)
    builder = builder.overrideProvider(OPENTELEMETRY_API_LOADER).useValue(loadApi);
  const moduleRef = await builder.compile();
  beforeInit?.();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return app;
}

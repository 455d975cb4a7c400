import { type DynamicModule, Module } from '@nestjs/common';
import { redisBroker, type RedisBrokerOptions, SseModule } from '../../../src/index.js';
import { FeedController } from './feed.controller.js';

/** Heartbeats every 100 ms, so that a stream kept open through an outage shows it quickly. */
export const FAULTS_HEARTBEAT_MS = 100;
/** Short, so that a publish during an outage is seen to fail quickly. */
export const FAULTS_PUBLISH_TIMEOUT_MS = 500;

/** One `feed` stream on the Redis broker, the app every fault scenario breaks Redis under. */
@Module({})
export class FaultsAppModule {
  static register(broker: RedisBrokerOptions): DynamicModule {
    return {
      module: FaultsAppModule,
      imports: [
        SseModule.forRoot({
          heartbeatMs: FAULTS_HEARTBEAT_MS,
          broker: redisBroker({ publishTimeoutMs: FAULTS_PUBLISH_TIMEOUT_MS, ...broker }),
        }),
      ],
      controllers: [FeedController],
    };
  }
}

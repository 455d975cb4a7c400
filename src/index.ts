export * from './decorators/index.js';
export * from './errors/index.js';
export { SseModule } from './sse.module.js';
export type { EventStreamOptions, SseModuleOptions } from './sse.options.js';
export type { SseEvent } from './wire/sse-event.interface.js';
export { serializeEvent, serializeComment, serializeRetry } from './wire/frame.js';
export { MAX_ACCEPT_LENGTH, MAX_ACCEPT_RANGES } from './negotiation/choose-handler.js';
export { StreamRegistry, type CloseStreamsOptions } from './connection/stream-registry.js';
export type {
  CloseReason,
  StreamInfo,
  StreamRequestInfo,
  StreamLifecycleEvent,
  StreamStats,
} from './connection/stream-info.interface.js';
export type { LimitResponse, RouteOverridableOptions, SlowClientPolicy } from './sse.options.js';
export { SSE_DEFAULTS } from './sse.options.js';
export * from './hub/index.js';
export * from './brokers/index.js';
export { prepareEvent, type PreparedEvent } from './wire/prepared-event.js';
export type { SseMeterProvider } from './metrics/meter-provider.interface.js';

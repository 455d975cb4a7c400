export * from './open-event-stream.js';
export * from './test-event-stream.js';
export type { ServerLike, TestTlsOptions } from './test-target.js';

export * from './sse.error.js';
export * from './invalid-event-field.error.js';
export * from './unserializable-event-data.error.js';
export * from './invalid-stream-route.error.js';
export * from './invalid-stream-source.error.js';
export * from './sse-module-missing.error.js';

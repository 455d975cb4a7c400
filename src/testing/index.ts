export * from './test-event-stream.js';

export * from './event-stream.decorator.js';
export * from './event-stream-signal.decorator.js';
export { noContent, type NoContent } from './no-content.js';
export * from './last-event-id.decorator.js';

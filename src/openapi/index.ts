export { ApiEventStream } from './api-event-stream.decorator.js';
export type { ApiEventData, ApiEventStreamOptions } from './api-event-stream-options.interface.js';

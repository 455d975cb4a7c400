export { SseHub, type HubStreamOptions } from './sse-hub.js';
export type { HubStream } from './hub-stream.js';

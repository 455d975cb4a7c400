export {
  SseHub,
  type HubPublishDataOptions,
  type HubPublishOptions,
  type HubStreamOptions,
  type PublishedValue,
} from './sse-hub.js';
export type { HubStream } from './hub-stream.js';
export type {
  ChannelData,
  ChannelEvent,
  ChannelEventType,
  ChannelName,
  HubChannels,
  HubEvent,
  StreamedEvent,
  UntypedChannels,
} from './hub-channels.js';

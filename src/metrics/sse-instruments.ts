import type {
  Histogram,
  Meter,
  ObservableCounter,
  ObservableGauge,
  UpDownCounter,
} from '@opentelemetry/api';
import type { OpenTelemetryApi } from './opentelemetry-api-loader.js';

/** Buckets of a stream's life, in seconds: from reconnect storms to hour-long sessions. */
const STREAM_DURATION_BUCKETS = [1, 5, 30, 60, 300, 900, 1800, 3600];
/** Buckets of a publish, in seconds: a memory broker's microseconds to a slow Redis. */
const PUBLISH_DURATION_BUCKETS = [
  0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/** Every instrument of the library, as one meter makes them: names, units and advice. */
export interface SseInstruments {
  activeStreams: UpDownCounter;
  streamDuration: Histogram;
  events: ObservableCounter;
  sentBytes: ObservableCounter;
  refusedStreams: ObservableCounter;
  droppedEvents: ObservableCounter;
  bufferedBytes: ObservableGauge;
  hubPublishedEvents: ObservableCounter;
  hubPublishDuration: Histogram;
  hubReplays: ObservableCounter;
  hubBrokerErrors: ObservableCounter;
}

/** The instruments of the library's metrics (see the README's table). */
export function createSseInstruments(
  meter: Meter,
  api: OpenTelemetryApi | undefined,
): SseInstruments {
  // Counts are integers; without the API loaded (a provider given, the package not
  // resolvable), the SDK's default applies.
  const int = api === undefined ? {} : { valueType: api.ValueType.INT };
  return {
    activeStreams: meter.createUpDownCounter('sse.server.active_streams', {
      description: 'Event streams open now.',
      unit: '{stream}',
      ...int,
    }),
    streamDuration: meter.createHistogram('sse.server.stream.duration', {
      description: 'How long event streams stayed open, by why they closed.',
      unit: 's',
      advice: { explicitBucketBoundaries: STREAM_DURATION_BUCKETS },
    }),
    events: meter.createObservableCounter('sse.server.events', {
      description: 'Events written to clients (heartbeats and retry hints excluded).',
      unit: '{event}',
      ...int,
    }),
    sentBytes: meter.createObservableCounter('sse.server.sent_bytes', {
      description: 'Bytes of event frames written to clients.',
      unit: 'By',
      ...int,
    }),
    refusedStreams: meter.createObservableCounter('sse.server.refused_streams', {
      description: 'Event streams refused by a connection limit or during shutdown.',
      unit: '{stream}',
      ...int,
    }),
    droppedEvents: meter.createObservableCounter('sse.server.dropped_events', {
      description: "Events dropped for slow clients under slowClientPolicy 'drop-oldest'.",
      unit: '{event}',
      ...int,
    }),
    bufferedBytes: meter.createObservableGauge('sse.server.buffered_bytes', {
      description:
        'Bytes queued for slow clients across all streams (what maxTotalBufferedBytes bounds).',
      unit: 'By',
      ...int,
    }),
    hubPublishedEvents: meter.createObservableCounter('sse.hub.published_events', {
      description: 'Events published through SseHub and stored by its broker.',
      unit: '{event}',
      ...int,
    }),
    hubPublishDuration: meter.createHistogram('sse.hub.publish.duration', {
      description: 'How long SseHub.publish() took: stored, and sent to this instance.',
      unit: 's',
      advice: { explicitBucketBoundaries: PUBLISH_DURATION_BUCKETS },
    }),
    hubReplays: meter.createObservableCounter('sse.hub.replays', {
      description: 'Hub streams that asked to resume (Last-Event-ID): resumed, or reset instead.',
      unit: '{stream}',
      ...int,
    }),
    hubBrokerErrors: meter.createObservableCounter('sse.hub.broker.errors', {
      description: "Failures of the hub's broker: publishes, and history or live reads of streams.",
      unit: '{error}',
      ...int,
    }),
  };
}

import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Attributes, BatchObservableCallback, Meter, MeterProvider } from '@opentelemetry/api';
import { StreamRegistry } from '../connection/stream-registry.js';
import type { StreamInfo } from '../connection/stream-info.interface.js';
import { SseHub } from '../hub/sse-hub.js';
import { brokerKindOf } from './broker-kind.js';
import {
  OPENTELEMETRY_API_LOADER,
  type OpenTelemetryApi,
  type OpenTelemetryApiLoader,
} from './opentelemetry-api-loader.js';
import { packageVersion } from './package-version.js';
import { routeTemplateOf } from './route-template.js';
import { createSseInstruments } from './sse-instruments.js';

/** The meter's name (its version is the package's). */
export const METER_NAME = 'nestjs-event-stream';

/** Reported even before they happen, so that a dashboard's rate starts from zero. */
const REFUSAL_REASONS = ['maxConnections', 'maxConnectionsPerClient', 'shutdown'];

/**
 * The library's OpenTelemetry metrics. Streams opening and closing are recorded as they happen
 * (once per stream); everything per event is a plain counter of the registry or the hub, read
 * by observable instruments when the SDK collects, so an event costs no instrument call.
 *
 * The meter is taken in `onModuleInit`, not at construction: a meter taken before the SDK
 * registers its provider would stay a no-op, as the metrics API has no proxy provider.
 */
@Injectable()
export class SseMetrics implements OnModuleInit, OnApplicationShutdown {
  private stop?: () => void;

  constructor(
    @Inject(StreamRegistry) private readonly registry: StreamRegistry,
    @Inject(SseHub) private readonly hub: SseHub,
    @Inject(OPENTELEMETRY_API_LOADER) private readonly loadApi: OpenTelemetryApiLoader,
  ) {}

  async onModuleInit(): Promise<void> {
    // An optional peer: a loader that fails is a package that is not there.
    const api = await this.loadApi().catch(() => undefined);
    const provider =
      (this.registry.options.meterProvider as MeterProvider | undefined) ??
      api?.metrics.getMeterProvider();
    if (provider === undefined) return;
    const meter = provider.getMeter(METER_NAME, packageVersion());
    // No SDK registered: the API's no-op meter would record nothing, so nothing is listened to
    // (a lifecycle subscriber costs every stream's open and close).
    if (api !== undefined && meter.constructor === api.createNoopMeter().constructor) return;
    this.stop = this.record(meter, api);
  }

  onApplicationShutdown(): void {
    // After beforeApplicationShutdown, where the streams closed (and their durations were
    // recorded). The provider is the application's: it flushes and shuts it down itself.
    this.stop?.();
    this.stop = undefined;
  }

  /** Starts recording on a meter; returns how to stop. */
  private record(meter: Meter, api: OpenTelemetryApi | undefined): () => void {
    const { registry, hub } = this;
    const instruments = createSseInstruments(meter, api);
    const { activeStreams, streamDuration, hubPublishDuration } = instruments;
    registry.countPerRoute = true;

    const streamAttributes = new WeakMap<StreamInfo, Attributes>();
    const lifecycle = registry.lifecycle$.subscribe((event) => {
      const { stream } = event;
      if (event.type === 'open') {
        const attributes: Attributes = {
          'http.route': routeTemplateOf(stream.request, stream.handler),
          'network.protocol.version': stream.protocol,
        };
        streamAttributes.set(stream, attributes);
        activeStreams.add(1, attributes);
        return;
      }
      const attributes = streamAttributes.get(stream);
      if (attributes === undefined) return;
      streamAttributes.delete(stream);
      activeStreams.add(-1, attributes);
      streamDuration.record((Date.now() - stream.openedAt) / 1000, {
        ...attributes,
        'sse.close.reason': event.reason,
      });
    });

    const broker = { 'sse.broker': brokerKindOf(hub.broker) };
    hub.tally.publishTimer = (seconds, errorType) =>
      hubPublishDuration.record(
        seconds,
        errorType === undefined ? broker : { ...broker, 'error.type': errorType },
      );

    const observe: BatchObservableCallback = (result) => {
      for (const counters of registry.routeCounters.values()) {
        const attributes = { 'http.route': counters.route };
        result.observe(instruments.events, counters.eventsWritten, attributes);
        result.observe(instruments.sentBytes, counters.bytesWritten, attributes);
        result.observe(instruments.droppedEvents, counters.eventsDropped, attributes);
      }
      const refused = registry.refusedByReason;
      for (const reason of new Set([...REFUSAL_REASONS, ...refused.keys()])) {
        result.observe(instruments.refusedStreams, refused.get(reason) ?? 0, {
          'sse.refusal.reason': reason,
        });
      }
      result.observe(instruments.bufferedBytes, registry.bufferedBytes);
      const { tally } = hub;
      result.observe(instruments.hubPublishedEvents, tally.published, broker);
      result.observe(instruments.hubReplays, tally.resumed, {
        ...broker,
        'sse.replay.resumable': true,
      });
      result.observe(instruments.hubReplays, tally.reset, {
        ...broker,
        'sse.replay.resumable': false,
      });
      for (const [type, count] of tally.brokerErrors) {
        result.observe(instruments.hubBrokerErrors, count, { ...broker, 'error.type': type });
      }
    };
    const observables = [
      instruments.events,
      instruments.sentBytes,
      instruments.droppedEvents,
      instruments.refusedStreams,
      instruments.bufferedBytes,
      instruments.hubPublishedEvents,
      instruments.hubReplays,
      instruments.hubBrokerErrors,
    ];
    meter.addBatchObservableCallback(observe, observables);

    return () => {
      meter.removeBatchObservableCallback(observe, observables);
      lifecycle.unsubscribe();
      registry.countPerRoute = false;
      hub.tally.publishTimer = undefined;
    };
  }
}

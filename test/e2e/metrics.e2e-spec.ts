import type { INestApplication } from '@nestjs/common';
import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { SseHub, type SseModuleOptions, StreamRegistry } from '../../src/index.js';
import { openEventStream, type TestEventStream } from '../../src/testing/index.js';
import { flakyBroker, StoreDownError } from '../src/metrics/failing.broker.js';
import { startMetricsApp } from '../src/metrics/metrics-app.js';
import { EventFeed } from '../src/production/event-feed.js';
import { FeedController } from '../src/production/feed.controller.js';
import { LifecycleRecorder } from '../src/production/lifecycle-recorder.js';
import { portOf, startProductionApp } from '../src/production/production-app.js';
import { RawEventStream } from '../src/production/raw-event-stream.js';
import { UserKeyController } from '../src/production/user-key.controller.js';
import { ConformanceAppModule } from '../src/conformance/conformance-app.module.js';
import { CONFORMANCE_PLATFORMS } from '../support/platforms.js';

/** One exported instrument, reduced to what an operator's dashboard depends on. */
interface ExportedMetric {
  name: string;
  type: string;
  unit: string;
  points: Array<{ attributes: Record<string, unknown>; value: unknown }>;
}

/** An SDK of its own for one test: a reader that exports only when told to. */
function sdk() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    meterProvider,
    /** Collects, and returns the library's metrics as exported, sorted by name. */
    async collect(): Promise<{
      scope: { name: string; version?: string };
      metrics: ExportedMetric[];
    }> {
      await reader.forceFlush();
      const scopes = exporter.getMetrics().at(-1)?.scopeMetrics ?? [];
      const scope = scopes.find((s) => s.scope.name === 'nestjs-event-stream');
      if (scope === undefined) return { scope: { name: '' }, metrics: [] };
      return {
        scope: scope.scope,
        metrics: scope.metrics
          .map((exported) => ({
            name: exported.descriptor.name,
            type:
              exported.dataPointType === DataPointType.SUM
                ? `SUM (${exported.isMonotonic ? 'monotonic' : 'up-down'})`
                : DataPointType[exported.dataPointType],
            unit: exported.descriptor.unit,
            points: exported.dataPoints
              .map((point) => ({ attributes: { ...point.attributes }, value: point.value }))
              .toSorted((a, b) =>
                JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)),
              ),
          }))
          .toSorted((a, b) => a.name.localeCompare(b.name)),
      };
    },
    shutdown: () => meterProvider.shutdown(),
  };
}

function metric(list: ExportedMetric[], name: string): ExportedMetric {
  const found = list.find((m) => m.name === name);
  if (found === undefined)
    throw new Error(`${name} was not exported; got ${list.map((m) => m.name)}`);
  return found;
}

/** A loader of `@opentelemetry/api` as it fails where the package is not installed. */
const cannotImport = () =>
  Promise.reject(new Error("Cannot find package '@opentelemetry/api' imported from …"));

function bytesOf(...streams: TestEventStream[]): number {
  return streams.reduce((sum, stream) => sum + Buffer.byteLength(stream.raw), 0);
}

describe('OpenTelemetry metrics', () => {
  let app: INestApplication | undefined;
  let recorder: LifecycleRecorder | undefined;
  const streams: TestEventStream[] = [];
  const cleanups: Array<() => unknown> = [];

  async function start(
    options: SseModuleOptions,
    loadApi?: () => Promise<never>,
    beforeInit?: () => void,
  ) {
    app = await startMetricsApp(options, loadApi, beforeInit);
    recorder = new LifecycleRecorder(app.get(StreamRegistry));
    return { app, hub: app.get(SseHub), registry: app.get(StreamRegistry), lifecycle: recorder };
  }

  async function open(path: string, headers: Record<string, string> = {}) {
    const stream = await openEventStream(app!, { path, headers });
    streams.push(stream);
    return stream;
  }

  afterEach(async () => {
    await Promise.all(streams.splice(0).map((stream) => stream.close()));
    recorder?.stop();
    await app?.close();
    app = undefined;
    for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
  });

  it('exports streams, events, bytes, refusals, closes and hub activity through the meterProvider option', async () => {
    const otel = sdk();
    cleanups.push(otel.shutdown);
    const { hub, lifecycle } = await start({ meterProvider: otel.meterProvider });

    const first = await hub.publish('news', 'first');
    // Two streams resume from the first event; one sends an id the hub cannot resume from.
    const a = await open('/notifications', { 'last-event-id': first });
    const b = await open('/notifications', { 'last-event-id': first });
    const lost = await open('/notifications', { 'last-event-id': 'not-an-id' });
    const [reset] = await lost.take(1);
    expect(reset!.event).toBe('reset');
    await hub.publish('news', 'second');
    await hub.publish('news', 'third');
    await Promise.all([a.take(2), b.take(2), lost.take(2)]);

    const once = await open('/notifications/once');
    await once.waitForEnd();
    const narrow = await open('/notifications/narrow');
    const refused = await open('/notifications/narrow');
    await refused.waitForEnd();
    expect(refused.events[0]!.event).toBe('connection-limit');

    await a.close();
    await lifecycle.waitFor(
      (r) => r.closes('client').length === 1 && r.closes('complete').length === 1,
      'a client close and a completion',
    );

    const { scope, metrics: list } = await otel.collect();
    if (process.env.PRINT_METRICS) console.log(JSON.stringify({ scope, list }, null, 1));
    expect(scope).toMatchObject({ name: 'nestjs-event-stream', version: '0.1.0' });
    expect(list.map(({ name, type, unit }) => ({ name, type, unit }))).toEqual([
      { name: 'sse.hub.publish.duration', type: 'HISTOGRAM', unit: 's' },
      { name: 'sse.hub.published_events', type: 'SUM (monotonic)', unit: '{event}' },
      { name: 'sse.hub.replays', type: 'SUM (monotonic)', unit: '{stream}' },
      { name: 'sse.server.active_streams', type: 'SUM (up-down)', unit: '{stream}' },
      { name: 'sse.server.buffered_bytes', type: 'GAUGE', unit: 'By' },
      { name: 'sse.server.dropped_events', type: 'SUM (monotonic)', unit: '{event}' },
      { name: 'sse.server.events', type: 'SUM (monotonic)', unit: '{event}' },
      { name: 'sse.server.refused_streams', type: 'SUM (monotonic)', unit: '{stream}' },
      { name: 'sse.server.sent_bytes', type: 'SUM (monotonic)', unit: 'By' },
      { name: 'sse.server.stream.duration', type: 'HISTOGRAM', unit: 's' },
    ]);

    const h1 = { 'network.protocol.version': '1.1' };
    expect(metric(list, 'sse.server.active_streams').points).toEqual([
      { attributes: { 'http.route': '/notifications', ...h1 }, value: 2 },
      { attributes: { 'http.route': '/notifications/narrow', ...h1 }, value: 1 },
      { attributes: { 'http.route': '/notifications/once', ...h1 }, value: 0 },
    ]);
    const durations = metric(list, 'sse.server.stream.duration').points;
    expect(durations.map((p) => p.attributes)).toEqual([
      { 'http.route': '/notifications', ...h1, 'sse.close.reason': 'client' },
      { 'http.route': '/notifications/once', ...h1, 'sse.close.reason': 'complete' },
    ]);
    for (const { value } of durations) {
      expect(value).toMatchObject({
        count: 1,
        buckets: { boundaries: [1, 5, 30, 60, 300, 900, 1800, 3600] },
      });
    }
    // Each stream's position frame (an id alone), then a and b: two live events each; the lost
    // stream: its reset, then the two live events.
    expect(metric(list, 'sse.server.events').points).toEqual([
      { attributes: { 'http.route': '/notifications' }, value: 10 },
      { attributes: { 'http.route': '/notifications/narrow' }, value: 0 },
      { attributes: { 'http.route': '/notifications/once' }, value: 2 },
    ]);
    expect(metric(list, 'sse.server.sent_bytes').points).toEqual([
      { attributes: { 'http.route': '/notifications' }, value: bytesOf(a, b, lost) },
      { attributes: { 'http.route': '/notifications/narrow' }, value: 0 },
      { attributes: { 'http.route': '/notifications/once' }, value: bytesOf(once) },
    ]);
    expect(metric(list, 'sse.server.dropped_events').points.map((p) => p.value)).toEqual([0, 0, 0]);
    expect(metric(list, 'sse.server.refused_streams').points).toEqual([
      { attributes: { 'sse.refusal.reason': 'maxConnections' }, value: 1 },
      { attributes: { 'sse.refusal.reason': 'maxConnectionsPerClient' }, value: 0 },
      { attributes: { 'sse.refusal.reason': 'shutdown' }, value: 0 },
    ]);
    expect(metric(list, 'sse.server.buffered_bytes').points).toEqual([
      { attributes: {}, value: 0 },
    ]);

    const memory = { 'sse.broker': 'memory' };
    expect(metric(list, 'sse.hub.published_events').points).toEqual([
      { attributes: memory, value: 3 },
    ]);
    const publishes = metric(list, 'sse.hub.publish.duration').points;
    expect(publishes).toEqual([
      { attributes: memory, value: expect.objectContaining({ count: 3 }) },
    ]);
    expect(metric(list, 'sse.hub.replays').points).toEqual([
      { attributes: { ...memory, 'sse.replay.resumable': false }, value: 1 },
      { attributes: { ...memory, 'sse.replay.resumable': true }, value: 2 },
    ]);
    expect(narrow.endedByServer).toBe(false);
  });

  it('counts failed publishes as broker errors by error.type, and times them with it', async () => {
    const otel = sdk();
    cleanups.push(otel.shutdown);
    const broker = flakyBroker();
    const { hub } = await start({ meterProvider: otel.meterProvider, broker });
    await hub.publish('news', 'stored');
    broker.down = true;
    await expect(hub.publish('news', 'lost')).rejects.toBeInstanceOf(StoreDownError);
    await expect(hub.publish('news', 'lost too')).rejects.toBeInstanceOf(StoreDownError);

    const { metrics: list } = await otel.collect();
    const flaky = { 'sse.broker': 'memory' };
    expect(metric(list, 'sse.hub.broker.errors').points).toEqual([
      { attributes: { ...flaky, 'error.type': 'STORE_DOWN' }, value: 2 },
    ]);
    expect(metric(list, 'sse.hub.published_events').points).toEqual([
      { attributes: flaky, value: 1 },
    ]);
    expect(
      metric(list, 'sse.hub.publish.duration').points.map((p) => ({
        attributes: p.attributes,
        count: (p.value as { count: number }).count,
      })),
    ).toEqual([
      { attributes: { ...flaky, 'error.type': 'STORE_DOWN' }, count: 2 },
      { attributes: flaky, count: 1 },
    ]);
  });

  it('takes the global meter provider at start-up (onModuleInit) when no option is given', async () => {
    const otel = sdk();
    cleanups.push(otel.shutdown);
    cleanups.push(() => metrics.disable());
    // Registered once the providers exist, before the application initializes: a meter taken
    // at construction would have stayed a no-op.
    await start({}, undefined, () => {
      expect(metrics.setGlobalMeterProvider(otel.meterProvider)).toBe(true);
    });
    await open('/notifications/narrow');

    const { metrics: list } = await otel.collect();
    expect(metric(list, 'sse.server.active_streams').points).toEqual([
      {
        attributes: { 'http.route': '/notifications/narrow', 'network.protocol.version': '1.1' },
        value: 1,
      },
    ]);
  });

  it('is a no-op without the option and without a registered SDK', async () => {
    const { hub } = await start({});
    const first = await hub.publish('news', 'first');
    const stream = await open('/notifications', { 'last-event-id': first });
    await hub.publish('news', 'second');
    const [event] = await stream.take(1);
    expect(event!.data).toBe('second');
    const once = await open('/notifications/once');
    await once.waitForEnd();
    expect(once.events.map((e) => e.data)).toEqual(['first', 'second']);
  });

  it('runs without @opentelemetry/api: a loader that cannot import it leaves the metrics off', async () => {
    const otel = sdk();
    cleanups.push(otel.shutdown);
    // A registered SDK that the module could only find through the API it cannot load.
    metrics.setGlobalMeterProvider(otel.meterProvider);
    cleanups.push(() => metrics.disable());
    const { hub } = await start({}, cannotImport);
    const stream = await open('/notifications');
    await recorder!.waitFor((r) => r.opens.length === 1, 'the stream open');
    await hub.publish('news', 'hello');
    const [event] = await stream.take(1);
    expect(event!.data).toBe('hello');

    expect((await otel.collect()).metrics).toEqual([]);
  });

  it('still exports through the meterProvider option when the API cannot be imported', async () => {
    const otel = sdk();
    cleanups.push(otel.shutdown);
    await start({ meterProvider: otel.meterProvider }, cannotImport);
    await open('/notifications/narrow');

    const { metrics: list } = await otel.collect();
    expect(metric(list, 'sse.server.active_streams').points.map((p) => p.value)).toEqual([1]);
  });

  it('imports @opentelemetry/api nowhere but dynamically (types aside), so the package loads without it', () => {
    const src = join(import.meta.dirname, '../../src');
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
      (file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'),
    );
    const staticImports = files.filter((file) =>
      /^import\s+(?!type\b)[^;]*from\s+'@opentelemetry\//m.test(
        readFileSync(join(src, file), 'utf8'),
      ),
    );
    expect(staticImports).toEqual([]);
    expect(files.length).toBeGreaterThan(10);
  });
});

describe('OpenTelemetry metrics of a slow client, and at shutdown', () => {
  it('exports dropped events and buffered bytes, then the shutdown close, and lets go of the hub at shutdown', async () => {
    const otel = sdk();
    const app = await startProductionApp(
      {
        meterProvider: otel.meterProvider,
        heartbeatMs: 0,
        maxBufferedBytes: 64 * 1024,
        slowClientPolicy: 'drop-oldest',
        shutdownGraceMs: 50,
      },
      [FeedController],
    );
    const registry = app.get(StreamRegistry);
    const lifecycle = new LifecycleRecorder(registry);
    const client = await RawEventStream.open(portOf(app), '/feed/flood');
    try {
      await lifecycle.waitFor((r) => r.opens.length === 1, 'the stream to open');
      const channel = app.get(EventFeed).channel('flood');
      // As fast as the socket takes them (a turn every 16 events), until the budget drops some.
      const data = 'x'.repeat(1024);
      for (let id = 0; registry.stats().eventsDropped === 0; id++) {
        expect(id, 'events pushed before one was dropped').toBeLessThan(32_768);
        channel.next({ id, data });
        if (id % 16 === 15) await nextTurn();
      }
      const { eventsDropped, eventsWritten, bytesWritten } = registry.stats();
      expect(registry.bufferedBytes).toBeGreaterThan(0);

      const { metrics: list } = await otel.collect();
      // The route as a template: a dashboard gets one series for every feed.
      const route = { 'http.route': '/feed/:name' };
      expect(metric(list, 'sse.server.dropped_events').points).toEqual([
        { attributes: route, value: eventsDropped },
      ]);
      expect(metric(list, 'sse.server.buffered_bytes').points).toEqual([
        { attributes: {}, value: registry.bufferedBytes },
      ]);
      expect(metric(list, 'sse.server.events').points).toEqual([
        { attributes: route, value: eventsWritten },
      ]);
      expect(metric(list, 'sse.server.sent_bytes').points).toEqual([
        { attributes: route, value: bytesWritten },
      ]);
    } finally {
      lifecycle.stop();
      await app.close();
      await client.destroy();
    }

    const { metrics: after } = await otel.collect();
    const stream = { 'http.route': '/feed/:name', 'network.protocol.version': '1.1' };
    expect(metric(after, 'sse.server.active_streams').points).toEqual([
      { attributes: stream, value: 0 },
    ]);
    expect(metric(after, 'sse.server.stream.duration').points).toEqual([
      {
        attributes: { ...stream, 'sse.close.reason': 'shutdown' },
        value: expect.objectContaining({ count: 1 }),
      },
    ]);
    expect(app.get(SseHub).tally.publishTimer).toBeUndefined();
    await otel.shutdown();
  });
});

describe.each(CONFORMANCE_PLATFORMS)('OpenTelemetry attributes on $name', (platform) => {
  it("names a stream's route by its template and its protocol by its version", async () => {
    const otel = sdk();
    const app = await platform.createApp(
      ConformanceAppModule.with({ heartbeatMs: 0, meterProvider: otel.meterProvider }, [
        UserKeyController,
      ]),
    );
    try {
      const stream = await app.openEventStream({
        path: '/users/42/events',
        headers: { 'x-user': 'ann' },
      });
      const { metrics: list } = await otel.collect();
      // The route as registered (Fastify's routeOptions.url, Express's route.path), never the
      // path with its id, nor the handler's name.
      expect(metric(list, 'sse.server.active_streams').points).toEqual([
        {
          attributes: {
            'http.route': '/users/:room/events',
            'network.protocol.version': platform.protocol,
          },
          value: 1,
        },
      ]);
      await stream.close();
    } finally {
      await app.close();
      await otel.shutdown();
    }
  });
});

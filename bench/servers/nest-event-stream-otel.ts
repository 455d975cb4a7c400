/**
 * nestjs-event-stream with an OpenTelemetry SDK installed: the `ours` server, unchanged, after a
 * MeterProvider was registered globally (as an app's main.ts does before NestFactory.create),
 * with a reader that collects every second, so that collections happen during the measurement.
 * What it measures: the cost of the library's metrics to fan-out, against `ours`.
 */
import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';

const exporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 1000 });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
// Only the last export is of interest; older ones would pile up over a long run.
setInterval(() => exporter.reset(), 10_000).unref();

// Imported once the provider is registered: the module takes its meter at start-up.
await import('./nest-event-stream.js');

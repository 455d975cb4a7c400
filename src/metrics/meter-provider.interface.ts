/**
 * What the `meterProvider` option takes: an OpenTelemetry `MeterProvider` (from
 * `@opentelemetry/sdk-metrics`, or `metrics.getMeterProvider()`). Declared structurally, so
 * that the library's types do not require `@opentelemetry/api` to be installed.
 *
 * @example
 * ```ts
 * const meterProvider = new MeterProvider({ readers: [reader] });
 * SseModule.forRoot({ meterProvider });
 * ```
 */
export interface SseMeterProvider {
  getMeter(name: string, version?: string): object;
}

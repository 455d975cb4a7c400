/** The part of `@opentelemetry/api` the metrics use. */
export type OpenTelemetryApi = typeof import('@opentelemetry/api');

/** How the metrics load `@opentelemetry/api`: resolves `undefined` when it is not installed. */
export type OpenTelemetryApiLoader = () => Promise<OpenTelemetryApi | undefined>;

/**
 * Token of the {@link OpenTelemetryApiLoader}. A seam for tests (a loader that fails stands for
 * a missing package) and for bundlers that cannot resolve optional imports.
 */
export const OPENTELEMETRY_API_LOADER = Symbol.for('nestjs-event-stream.opentelemetry-api-loader');

/**
 * Imports `@opentelemetry/api`, an optional peer: dynamically, so that the library loads and
 * runs without it (and its metrics are then a no-op).
 */
export const loadOpenTelemetryApi: OpenTelemetryApiLoader = async () => {
  try {
    return await import('@opentelemetry/api');
  } catch {
    return undefined;
  }
};

/** The module's provider of the loader: the real import, unless a test overrides it. */
export const OPENTELEMETRY_API_PROVIDER = {
  provide: OPENTELEMETRY_API_LOADER,
  useValue: loadOpenTelemetryApi,
};

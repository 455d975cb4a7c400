import type { RequestMethod } from '@nestjs/common';
import type { StreamRequestInfo } from './connection/stream-info.interface.js';
import type { SseBroker } from './brokers/sse-broker.interface.js';
import { InvalidOptionError } from './errors/invalid-option.error.js';
import { serializeEvent } from './wire/frame.js';
import type { SseMeterProvider } from './metrics/meter-provider.interface.js';
import type { SseEvent } from './wire/sse-event.interface.js';

/** What happens to a connection whose client reads slower than its events are produced. */
export type SlowClientPolicy = 'close' | 'drop-oldest';

/** How a stream refused by a connection limit is answered. */
export type LimitResponse = 'retry' | 'status';

/**
 * Options of `SseModule.forRoot()`. Every field is optional; the defaults live only in
 * {@link SSE_DEFAULTS}. Every value is checked at start-up: an unknown option, a fraction where
 * a whole number is due (milliseconds, bytes, counts), a delay past Node's 32-bit timers, an
 * event name with CR or LF fails `forRoot()` with an `InvalidOptionError` naming the option.
 * `0` means never for `heartbeatMs` and `maxLifetimeMs`; `Infinity` means no limit for the
 * connection counts.
 *
 * @example
 * ```ts
 * SseModule.forRoot({ heartbeatMs: 20_000, maxConnectionsPerClient: 6, retryMs: 3000 })
 * ```
 */
export interface SseModuleOptions {
  /**
   * Name of the last event a stream sends when its source fails after the stream opened. Not
   * `error`: a browser's `EventSource` fires its own `error` event on every disconnect.
   * @default 'stream-error'
   */
  errorEvent?: string;
  /**
   * A comment line (`:`) is sent on a connection that wrote nothing for this long, so proxies
   * and load balancers (nginx: 60 s) never cut an idle stream. `0` means never (no heartbeat);
   * otherwise a whole number of milliseconds up to 2147483647 (Node's timers are 32-bit). One
   * timer per distinct interval serves every connection.
   * @default 15000
   */
  heartbeatMs?: number;
  /**
   * `retry:` hint sent once when a stream opens: how long a browser waits before reconnecting.
   * A whole number of milliseconds (the field is digits only on the wire).
   * @default undefined (not sent; browsers use about 3 s)
   */
  retryMs?: number;
  /**
   * Budget of bytes queued for one connection: this library's queue plus what the socket still
   * holds (`res.writableLength`). Past it, {@link slowClientPolicy} applies.
   * @default 1048576 (1 MiB)
   */
  maxBufferedBytes?: number;
  /**
   * `'close'` ends the connection of a client past its budget (it reconnects and resumes with
   * `Last-Event-ID`); `'drop-oldest'` drops its queued events, oldest first, keeps it, and sends
   * a {@link resetEvent} so the drop is never silent.
   * @default 'close'
   */
  slowClientPolicy?: SlowClientPolicy;
  /**
   * Name of the event that tells a client it missed events (dropped for a slow client, or too
   * old to replay); it should reload its state.
   * @default 'reset'
   */
  resetEvent?: string;
  /**
   * Budget of bytes queued across all connections; past it, the connections with the most
   * queued bytes are closed first.
   * @default 268435456 (256 MiB)
   */
  maxTotalBufferedBytes?: number;
  /**
   * Streams open at once, across the application (a route may set a lower limit of its own).
   * @default Infinity
   */
  maxConnections?: number;
  /**
   * Streams open at once for one client, as told by {@link clientKey}.
   * @default Infinity
   */
  maxConnectionsPerClient?: number;
  /**
   * Who a request comes from, for {@link maxConnectionsPerClient} and for closing streams by
   * client. Runs after the route's guards, so `req.user` is there. Given the request as the
   * route's `@Req()` sees it: Express's request, or Fastify's `FastifyRequest`.
   * @default (req) => req.ip ?? req.socket.remoteAddress (`trust proxy` / `trustProxy` apply)
   */
  clientKey?(request: StreamRequestInfo): string | undefined;
  /**
   * How a stream refused by a limit is answered. `'retry'`: 200, a jittered `retry:` hint and
   * an event named {@link limitEvent}, then the end — a browser comes back later (it gives up
   * for good on a 429). `'status'`: 429 with `Retry-After` and a JSON body, for API clients.
   * @default 'retry'
   */
  limitResponse?: LimitResponse;
  /**
   * Name of the event a refused stream receives under `limitResponse: 'retry'`.
   * @default 'connection-limit'
   */
  limitEvent?: string;
  /**
   * A stream is ended (with a `retry:` hint) after this long, with ±10 % jitter, so long-lived
   * connections rebalance across instances. `0` means never; otherwise a whole number of
   * milliseconds up to 2147483647 (Node's timers are 32-bit).
   * @default 0
   */
  maxLifetimeMs?: number;
  /**
   * Base of the `retry:` hint sent when the server ends streams itself (shutdown, lifetime,
   * limits, `close()`); {@link reconnectJitterMs} is added at random per stream.
   * @default 1000
   */
  reconnectDelayMs?: number;
  /**
   * Random spread added to {@link reconnectDelayMs}, so that thousands of clients do not
   * reconnect in the same instant.
   * @default 4000
   */
  reconnectJitterMs?: number;
  /**
   * How long `app.close()` waits for ended streams to flush before it cuts the rest.
   * @default 5000
   */
  shutdownGraceMs?: number;
  /**
   * How long a stream the server ended (its source completed, `close()`, `maxLifetimeMs`) may
   * take to flush what its slow client has not read yet. Until then the stream keeps its slot
   * in the connection limits and its queued bytes in `maxTotalBufferedBytes`; after it, the
   * connection is cut.
   * @default 5000
   */
  closeGraceMs?: number;
  /**
   * An event sent to every open stream at shutdown, before its `retry:` hint and its end.
   * @default undefined (none)
   */
  shutdownEvent?: SseEvent;
  /**
   * Where `SseHub` keeps channel logs and fans events out: `memoryBroker()` for one process,
   * `redisBroker()` for several instances. Closed after the streams, at shutdown.
   * @default memoryBroker()
   */
  broker?: SseBroker;
  /**
   * Events read from history per page when a stream resumes; the next page is read only once
   * the socket drained, so a long replay never trips the slow-client budget by itself.
   * @default 100
   */
  replayPageSize?: number;
  /**
   * Live events held for a stream while it replays history; past it, the stream gets a
   * `reset` and goes on live.
   * @default 10000
   */
  replayBufferLimit?: number;
  /**
   * Where the OpenTelemetry metrics go (meter `nestjs-event-stream`). Taken at start-up
   * (`onModuleInit`); without it, the global provider (`metrics.getMeterProvider()`) is taken
   * then, so an SDK started before the application is found. Without `@opentelemetry/api`
   * installed or an SDK registered, the metrics are a no-op.
   * @default undefined (the global meter provider)
   */
  meterProvider?: SseMeterProvider;
}

/** The names of the options a route may set for itself. */
type RouteOptionName =
  | 'errorEvent'
  | 'heartbeatMs'
  | 'retryMs'
  | 'maxBufferedBytes'
  | 'slowClientPolicy'
  | 'resetEvent'
  | 'maxConnections'
  | 'maxLifetimeMs';

/** The options of one route that may differ from the module's. */
export type RouteOverridableOptions = Pick<SseModuleOptions, RouteOptionName>;

/**
 * Options of one `@EventStream()` route; those it shares with {@link SseModuleOptions} override
 * the module's for this route (a route's `maxConnections` can only be lower).
 *
 * @example
 * ```ts
 * @EventStream('completions', { method: RequestMethod.POST, heartbeatMs: 5000 })
 * ```
 */
export interface EventStreamOptions extends RouteOverridableOptions {
  /**
   * HTTP method of the route, as Nest's `@Sse()` takes it (POST for streaming LLM answers).
   * @default RequestMethod.GET
   */
  method?: RequestMethod;
}

/** The module options with every default applied. */
export type ResolvedSseOptions = Required<Omit<SseModuleOptions, OptionalOptions>> &
  Pick<SseModuleOptions, OptionalOptions>;

type OptionalOptions = 'retryMs' | 'shutdownEvent' | 'broker' | 'meterProvider';

/** What one stream runs with: the module's options overridden by its route's. */
export type StreamSettings = Pick<ResolvedSseOptions, RouteOptionName | 'closeGraceMs'>;

/** The defaults of every option, in one place. */
export const SSE_DEFAULTS: Readonly<Omit<ResolvedSseOptions, OptionalOptions>> = Object.freeze({
  errorEvent: 'stream-error',
  heartbeatMs: 15_000,
  maxBufferedBytes: 1024 * 1024,
  slowClientPolicy: 'close',
  resetEvent: 'reset',
  maxTotalBufferedBytes: 256 * 1024 * 1024,
  maxConnections: Infinity,
  maxConnectionsPerClient: Infinity,
  clientKey: (request: StreamRequestInfo) =>
    request.ip ?? request.socket?.remoteAddress ?? undefined,
  limitResponse: 'retry',
  limitEvent: 'connection-limit',
  maxLifetimeMs: 0,
  reconnectDelayMs: 1000,
  reconnectJitterMs: 4000,
  shutdownGraceMs: 5000,
  closeGraceMs: 5000,
  replayPageSize: 100,
  replayBufferLimit: 10_000,
});

/**
 * Applies the defaults to the module options, and refuses values that cannot work.
 *
 * @example
 * ```ts
 * resolveOptions({}).heartbeatMs; // 15000
 * ```
 */
export function resolveOptions(options: SseModuleOptions = {}): ResolvedSseOptions {
  validate(options, MODULE_RULES, 'SseModule.forRoot()', MODULE_EXTRAS);
  const defined = Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as SseModuleOptions;
  const resolved: ResolvedSseOptions = { ...SSE_DEFAULTS, ...defined };
  return resolved;
}

/**
 * The settings of one route: its own options over the module's.
 *
 * @example
 * ```ts
 * routeSettings(resolveOptions({}), { heartbeatMs: 0 }).heartbeatMs; // 0
 * ```
 */
export function routeSettings(
  module: ResolvedSseOptions,
  route: EventStreamOptions,
): StreamSettings {
  const settings: StreamSettings = {
    errorEvent: route.errorEvent ?? module.errorEvent,
    heartbeatMs: route.heartbeatMs ?? module.heartbeatMs,
    retryMs: route.retryMs ?? module.retryMs,
    maxBufferedBytes: route.maxBufferedBytes ?? module.maxBufferedBytes,
    slowClientPolicy: route.slowClientPolicy ?? module.slowClientPolicy,
    resetEvent: route.resetEvent ?? module.resetEvent,
    maxConnections: Math.min(route.maxConnections ?? Infinity, module.maxConnections),
    maxLifetimeMs: route.maxLifetimeMs ?? module.maxLifetimeMs,
    closeGraceMs: module.closeGraceMs,
  };
  return settings;
}

/**
 * The longest delay Node's timers take (a signed 32-bit count of milliseconds): a longer one
 * fires after 1 ms. Every option of milliseconds is capped by it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

type Check = (value: unknown) => boolean;
interface Rule {
  check: Check;
  expected: string;
}

const isInteger = (value: unknown): value is number => Number.isSafeInteger(value);
const milliseconds = (min: number): Rule => ({
  check: (value) => isInteger(value) && value >= min && value <= MAX_TIMER_MS,
  expected: `a whole number of milliseconds from ${min} to ${MAX_TIMER_MS}`,
});
const NEVER_OR_MILLISECONDS: Rule = {
  check: milliseconds(0).check,
  expected: `a whole number of milliseconds from 1 to ${MAX_TIMER_MS}, or 0 for never`,
};
const BYTES: Rule = {
  check: (value) => isInteger(value) && value >= 1,
  expected: 'a whole number of bytes, at least 1',
};
const COUNT_OR_UNLIMITED: Rule = {
  check: (value) => value === Infinity || (isInteger(value) && value >= 0),
  expected: 'a whole number, at least 0, or Infinity for no limit',
};
const POSITIVE_COUNT: Rule = {
  check: (value) => isInteger(value) && value >= 1,
  expected: 'a whole number, at least 1',
};
const COUNT: Rule = {
  check: (value) => isInteger(value) && value >= 0,
  expected: 'a whole number, at least 0',
};
const EVENT_NAME: Rule = {
  check: (value) => typeof value === 'string' && value.length > 0 && !/[\r\n]/.test(value),
  expected: 'a non-empty event name without CR or LF',
};
const oneOf = (...values: string[]): Rule => ({
  check: (value) => values.includes(value as string),
  expected: values.map((v) => `'${v}'`).join(' or '),
});
const FUNCTION: Rule = {
  check: (value) => typeof value === 'function',
  expected: 'a function of the request',
};
const EVENT: Rule = {
  // The wire format's own rules: an event it cannot write is refused here, named as an option.
  check: (value) => {
    try {
      serializeEvent(value as SseEvent);
      return true;
    } catch {
      return false;
    }
  },
  expected:
    'an event serializeEvent() can write (with data, id, retry or comment; no CR/LF in type or id)',
};
const BROKER_METHODS = [
  'connect',
  'publish',
  'subscribe',
  'readAfter',
  'latestId',
  'compareIds',
  'close',
  'health',
] as const;
const BROKER: Rule = {
  check: (value) =>
    value !== null &&
    typeof value === 'object' &&
    BROKER_METHODS.every(
      (method) => typeof (value as Record<string, unknown>)[method] === 'function',
    ),
  expected: `an SseBroker (memoryBroker(), redisBroker(), or an object with ${BROKER_METHODS.join(', ')})`,
};

/** What each route option may be; the module options add their own below. */
const ROUTE_RULES: Record<keyof EventStreamOptions, Rule> = {
  errorEvent: EVENT_NAME,
  heartbeatMs: NEVER_OR_MILLISECONDS,
  retryMs: milliseconds(0),
  maxBufferedBytes: BYTES,
  slowClientPolicy: oneOf('close', 'drop-oldest'),
  resetEvent: EVENT_NAME,
  maxConnections: COUNT_OR_UNLIMITED,
  maxLifetimeMs: NEVER_OR_MILLISECONDS,
  method: {
    check: (value) => isInteger(value) && value >= 0,
    expected: 'a RequestMethod',
  },
};

const MODULE_RULES: Record<keyof SseModuleOptions, Rule> = {
  errorEvent: EVENT_NAME,
  heartbeatMs: NEVER_OR_MILLISECONDS,
  retryMs: milliseconds(0),
  maxBufferedBytes: BYTES,
  slowClientPolicy: oneOf('close', 'drop-oldest'),
  resetEvent: EVENT_NAME,
  maxTotalBufferedBytes: BYTES,
  maxConnections: COUNT_OR_UNLIMITED,
  maxConnectionsPerClient: COUNT_OR_UNLIMITED,
  clientKey: FUNCTION,
  limitResponse: oneOf('retry', 'status'),
  limitEvent: EVENT_NAME,
  maxLifetimeMs: NEVER_OR_MILLISECONDS,
  reconnectDelayMs: milliseconds(0),
  reconnectJitterMs: milliseconds(0),
  shutdownGraceMs: milliseconds(0),
  closeGraceMs: milliseconds(0),
  shutdownEvent: EVENT,
  broker: BROKER,
  replayPageSize: POSITIVE_COUNT,
  replayBufferLimit: COUNT,
  meterProvider: {
    check: (value) =>
      typeof value === 'object' &&
      value !== null &&
      typeof (value as { getMeter?: unknown }).getMeter === 'function',
    expected: 'an OpenTelemetry MeterProvider (an object with getMeter())',
  },
};

// Keys the module builder may pass along with the options.
const MODULE_EXTRAS = new Set(['isGlobal']);

/**
 * Refuses, with an {@link InvalidOptionError} naming it, any option that is unknown (a typo
 * would silently fall back to the default) or whose value cannot work. `undefined` means the
 * default.
 */
function validate(
  options: object,
  rules: Record<string, Rule>,
  where: string,
  extras: ReadonlySet<string> = new Set(),
): void {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError(where, 'options', 'an object', options);
  }
  for (const [key, value] of Object.entries(options)) {
    const rule = rules[key];
    if (rule === undefined) {
      if (extras.has(key)) continue;
      throw new InvalidOptionError(
        where,
        key,
        `one of ${Object.keys(rules).join(', ')} (it is not an option)`,
        value,
      );
    }
    if (value !== undefined && !rule.check(value)) {
      throw new InvalidOptionError(where, key, rule.expected, value);
    }
  }
}

/**
 * Refuses the options of an `@EventStream()` route that cannot work; called where the route is
 * declared, so a wrong value fails at start-up, not on the first request.
 *
 * @example
 * ```ts
 * validateRouteOptions({ heartbeatMs: Infinity }, 'FeedController.feed');
 * // InvalidOptionError: @EventStream() FeedController.feed: option "heartbeatMs" must be ...
 * ```
 */
export function validateRouteOptions(options: EventStreamOptions, route: string): void {
  validate(options, ROUTE_RULES, `@EventStream() ${route}`);
}

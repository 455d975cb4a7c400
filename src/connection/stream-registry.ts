import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isObservable, type Observable } from 'rxjs';
import { InvalidStreamSourceError } from '../errors/invalid-stream-source.error.js';
import { isNoContent } from '../decorators/no-content.js';
import { SSE_MODULE_OPTIONS } from '../sse.module-definition.js';
import {
  type EventStreamOptions,
  resolveOptions,
  type ResolvedSseOptions,
  routeSettings,
  type SseModuleOptions,
} from '../sse.options.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import { type ConnectionOwner, EventStreamConnection } from './event-stream-connection.js';
import { setStreamHeaders } from './stream-headers.js';

/** What an `@EventStream()` handler was called for. */
export interface StreamRequest {
  /** `Class.method`, for messages. */
  handler: string;
  route: EventStreamOptions;
  req: IncomingMessage;
  res: ServerResponse;
  /** Runs the user's method; not called for HEAD. */
  invoke: () => unknown;
}

/**
 * Owns every open stream of the application: opens them for `@EventStream()` handlers, and
 * ends them before the HTTP server closes.
 */
@Injectable()
export class StreamRegistry implements ConnectionOwner, BeforeApplicationShutdown {
  readonly options: ResolvedSseOptions;
  private readonly open = new Set<EventStreamConnection>();
  private readonly logger = new Logger('EventStream');

  constructor(@Inject(SSE_MODULE_OPTIONS) options: SseModuleOptions) {
    this.options = resolveOptions(options);
  }

  /** The number of streams open now. */
  get size(): number {
    return this.open.size;
  }

  /**
   * Serves one request of an `@EventStream()` route. Throws (or rejects) only before the first
   * byte, so Nest's exception filters still answer.
   */
  serve(request: StreamRequest): void | Promise<void> {
    if (request.req.method === 'HEAD') {
      setStreamHeaders(request.req, request.res);
      request.res.end();
      return;
    }
    const result = request.invoke();
    if (isThenable(result)) {
      return Promise.resolve(result).then((source) => this.attach(request, source));
    }
    this.attach(request, result);
  }

  release(connection: EventStreamConnection): void {
    this.open.delete(connection);
  }

  beforeApplicationShutdown(): void {
    // Nest closes the HTTP server next, and waits for open responses: end them all first.
    for (const connection of this.open) {
      connection.end();
    }
  }

  private attach({ handler, route, req, res }: StreamRequest, source: unknown): void {
    if (isNoContent(source)) {
      res.statusCode = 204;
      res.end();
      return;
    }
    if (!isObservable(source)) {
      throw new InvalidStreamSourceError(handler, describe(source));
    }
    if (res.destroyed || res.writableEnded) {
      // The client left during an async setup: subscribing would only leak.
      return;
    }
    const connection = new EventStreamConnection(
      req,
      res,
      handler,
      routeSettings(this.options, route),
      this,
      this.logger,
    );
    this.open.add(connection);
    connection.start(source as Observable<SseEvent>);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object'
    ? `an instance of ${value.constructor?.name ?? 'Object'}`
    : `a ${typeof value}`;
}

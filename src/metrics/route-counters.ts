import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  ConnectionOwner,
  EventStreamConnection,
} from '../connection/event-stream-connection.js';
import type { CloseReason } from '../connection/stream-info.interface.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import type { WireFrame } from '../wire/wire-frame.js';

/**
 * What the streams of one route wrote and dropped since start-up: plain numbers the metrics read
 * when they are collected, so that no event pays for an instrument call.
 *
 * It stands between the route's connections and the registry (their owner): the connection
 * tells its owner of every event it writes, without saying which connection it is, so the
 * route's tally is the owner it is given, and everything else goes on to the registry.
 */
export class RouteCounters implements ConnectionOwner {
  eventsWritten = 0;
  bytesWritten = 0;
  eventsDropped = 0;
  readonly heartbeat: ConnectionOwner['heartbeat'];
  readonly logger: ConnectionOwner['logger'];
  readonly onResponseClose: (this: ServerResponse) => void;

  constructor(
    /** The route's path template (`http.route`), or `Class.method` when the platform hides it. */
    readonly route: string,
    private readonly owner: ConnectionOwner,
  ) {
    this.heartbeat = owner.heartbeat;
    this.logger = owner.logger;
    this.onResponseClose = owner.onResponseClose;
  }

  eventWritten(bytes: number): void {
    this.eventsWritten++;
    this.bytesWritten += bytes;
    this.owner.eventWritten(bytes);
  }

  dropped(events: number): void {
    this.eventsDropped += events;
    this.owner.dropped(events);
  }

  frameOf(event: SseEvent): WireFrame {
    return this.owner.frameOf(event);
  }

  queuedBytesChanged(connection: EventStreamConnection, delta: number): void {
    this.owner.queuedBytesChanged(connection, delta);
  }

  clientKeyOf(request: IncomingMessage): string | undefined {
    return this.owner.clientKeyOf(request);
  }

  closed(connection: EventStreamConnection, reason: CloseReason): void {
    this.owner.closed(connection, reason);
  }
}

import { HttpException, Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Observable, Subscription } from 'rxjs';
import type { StreamSettings } from '../sse.options.js';
import { serializeEvent } from '../wire/frame.js';
import type { SseEvent } from '../wire/sse-event.interface.js';
import { setStreamHeaders } from './stream-headers.js';

const enum State {
  /** Subscribed, headers not sent: frames wait, an error still becomes an HTTP error. */
  Starting,
  Open,
  Closed,
}

/** Told when a connection is over, whatever ended it. */
export interface ConnectionOwner {
  release(connection: EventStreamConnection): void;
}

/**
 * One open stream: it subscribes to the handler's source, writes each event to the socket, and
 * unsubscribes the moment the client goes away, so the source's teardown runs at once.
 */
export class EventStreamConnection {
  private state = State.Starting;
  private subscription?: Subscription;
  /** Frames emitted while the source was being subscribed, before the headers went out. */
  private early: string[] | undefined = [];
  private startError: unknown;
  private completedEarly = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly handler: string,
    private readonly settings: StreamSettings,
    private readonly owner: ConnectionOwner,
    private readonly logger: Logger,
  ) {}

  /**
   * Subscribes to the source and, unless it failed while subscribing (then the error is thrown,
   * for Nest's exception filters to answer), sends the headers and what it already emitted.
   */
  start(source: Observable<SseEvent>): void {
    this.res.once('close', this.onClose);
    this.subscription = source.subscribe({
      next: (event) => this.send(event),
      error: (error: unknown) => this.fail(error),
      complete: () => this.complete(),
    });
    if (this.startError !== undefined) {
      const error = this.startError;
      this.subscription.unsubscribe();
      this.res.off('close', this.onClose);
      this.state = State.Closed;
      this.owner.release(this);
      throw error;
    }
    if (this.state === State.Closed) {
      // The client left while the source was subscribing.
      return;
    }
    setStreamHeaders(this.req, this.res);
    this.res.flushHeaders();
    this.state = State.Open;
    const early = this.early!;
    this.early = undefined;
    if (early.length > 0) {
      this.res.write(early.join(''));
    }
    if (this.completedEarly) {
      this.end();
    }
  }

  /** Ends the stream from the server side (source completed, shutdown, ...). */
  end(): void {
    if (this.state === State.Closed) {
      return;
    }
    this.res.end();
    this.dispose();
  }

  private send(event: SseEvent): void {
    let frame: string;
    try {
      frame = serializeEvent(event);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (this.state === State.Open) {
      this.res.write(frame);
    } else if (this.state === State.Starting) {
      this.early!.push(frame);
    }
  }

  private fail(error: unknown): void {
    if (this.state === State.Starting) {
      this.startError = error ?? new Error('The event source failed with no error value');
      return;
    }
    if (this.state === State.Closed) {
      return;
    }
    this.logger.error(
      `${this.handler}: the event source failed after the stream opened; sending "${this.settings.errorEvent}" and ending it`,
      error instanceof Error ? error.stack : String(error),
    );
    this.res.write(
      serializeEvent({ type: this.settings.errorEvent, data: clientSafeError(error) }),
    );
    this.end();
  }

  private complete(): void {
    if (this.state === State.Starting) {
      this.completedEarly = true;
    } else {
      this.end();
    }
  }

  private readonly onClose = (): void => {
    this.dispose();
  };

  private dispose(): void {
    if (this.state === State.Closed) {
      return;
    }
    this.state = State.Closed;
    this.res.off('close', this.onClose);
    // Called from inside the source's own complete/error callbacks too, where it is a no-op.
    this.subscription?.unsubscribe();
    this.owner.release(this);
  }
}

/**
 * What a client may learn of a failure: an HttpException's status and message (meant for
 * clients), and nothing of any other error.
 */
function clientSafeError(error: unknown): { statusCode: number; message: string } {
  if (error instanceof HttpException) {
    const body = error.getResponse();
    const message =
      typeof body === 'object' && body !== null && 'message' in body
        ? String((body as { message: unknown }).message)
        : error.message;
    return { statusCode: error.getStatus(), message };
  }
  return { statusCode: 500, message: 'Internal server error' };
}

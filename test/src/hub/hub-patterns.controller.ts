import { Controller, Get, Header, Query } from '@nestjs/common';
import { filter, takeUntil } from 'rxjs';
import { EventStream, LastEventId, SseHub, type SseEvent } from '../../../src/index.js';
import { ReconnectGate } from './reconnect-gate.js';

/** What the patterns' events carry: whose it is, and which one. */
export interface OwnedPayload {
  user: string;
  n: number;
  pad?: string;
}

function isFor(event: SseEvent, user: string | undefined): boolean {
  return user === undefined || (event.data as OwnedPayload).user === user;
}

/** The per-user patterns of the README, and a door for reconnecting browsers. */
@Controller('patterns')
export class HubPatternsController {
  constructor(
    private readonly hub: SseHub,
    private readonly gate: ReconnectGate,
  ) {}

  /** `/patterns/piped?channel=c&user=u`: the operator route, `hub.stream().pipe(filter())`. */
  @EventStream('piped')
  piped(
    @Query('channel') channel: string,
    @Query('user') user: string | undefined,
    @LastEventId() lastEventId?: string,
  ) {
    return this.hub
      .stream(channel, { lastEventId })
      .pipe(filter((event) => event.type === 'reset' || isFor(event, user)));
  }

  /** `/patterns/filtered?channel=c&user=u`: the `filter` option of `stream()`. */
  @EventStream('filtered')
  filtered(
    @Query('channel') channel: string,
    @Query('user') user: string | undefined,
    @LastEventId() lastEventId?: string,
  ) {
    return this.hub.stream(channel, { lastEventId, filter: (event) => isFor(event, user) });
  }

  /** `/patterns/tamper?channel=c`: a filter that tries to change every event it is shown. */
  @EventStream('tamper')
  tamper(@Query('channel') channel: string, @LastEventId() lastEventId?: string) {
    return this.hub.stream(channel, {
      lastEventId,
      filter: (event) => {
        Reflect.set(event, 'type', 'tampered');
        const data = event.data as { nested?: object };
        if (data.nested !== undefined) Reflect.set(data.nested, 'v', 'tampered');
        return true;
      },
    });
  }

  /** `/patterns/door?channel=c`: a stream behind {@link ReconnectGate}. */
  @EventStream('door')
  async door(@Query('channel') channel: string, @LastEventId() lastEventId?: string) {
    await this.gate.enter(lastEventId);
    return this.hub.stream(channel, { lastEventId }).pipe(takeUntil(this.gate.cuts));
  }

  /** A page of this origin, for a browser's EventSource. */
  @Get('page')
  @Header('content-type', 'text/html')
  page(): string {
    return '<!doctype html><title>hub</title>';
  }
}

import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  UseGuards,
} from '@nestjs/common';
import { of, type Observable } from 'rxjs';
import { EventStream, type SseEvent } from '../../../src/index.js';
import { CallLog } from '../../support/call-log.js';

interface ReplyLike {
  hijack(): void;
  send(payload: unknown): void;
  raw: {
    writeHead(status: number, headers: Record<string, string>): void;
    end(body: string): void;
  };
}

/** A guard that answers the request itself, through Fastify's raw response, then lets it pass. */
class HijackingGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const reply = context.switchToHttp().getResponse<ReplyLike>();
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/plain' });
    reply.raw.end('answered by the guard');
    return true;
  }
}

/** A guard that sends a reply, then lets the request pass. */
class SendingGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    context.switchToHttp().getResponse<ReplyLike>().send({ sentBy: 'guard' });
    return true;
  }
}

/** Stream routes whose response user code answered before the library could. */
@Controller('answered')
export class AnsweredController {
  constructor(private readonly log: CallLog) {}

  @Get('plain') plain() {
    return 'plain';
  }

  @EventStream('hijacked')
  @UseGuards(HijackingGuard)
  hijacked(): Observable<SseEvent> {
    this.log.record('answered.hijacked');
    return of({ data: 'never sent' });
  }

  @EventStream('sent')
  @UseGuards(SendingGuard)
  sent(): Observable<SseEvent> {
    this.log.record('answered.sent');
    return of({ data: 'never sent' });
  }
}

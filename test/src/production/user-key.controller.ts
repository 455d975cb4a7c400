import {
  type CanActivate,
  Controller,
  type ExecutionContext,
  Injectable,
  Req,
  UseGuards,
} from '@nestjs/common';
import { NEVER, type Observable } from 'rxjs';
import { EventStream, type SseEvent, type StreamRequestInfo } from '../../../src/index.js';

/** What the guard puts on the request, as an auth guard puts its user. */
export interface KeyedRequest extends StreamRequestInfo {
  user?: { id: string };
}

/** Sets `user` on the request Nest gives guards (Express's, or Fastify's FastifyRequest). */
@Injectable()
class UserFromHeaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context
      .switchToHttp()
      .getRequest<KeyedRequest & { headers: Record<string, string> }>();
    request.user = { id: request.headers['x-user']! };
    return true;
  }
}

/** A stream per user behind a guard, keeping the request its handler was given. */
@Controller('users')
@UseGuards(UserFromHeaderGuard)
export class UserKeyController {
  /** The requests the handler received through @Req(), in order. */
  readonly requests: unknown[] = [];

  @EventStream(':room/events')
  events(@Req() request: unknown): Observable<SseEvent> {
    this.requests.push(request);
    return NEVER;
  }
}

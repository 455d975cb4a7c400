import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { RequestProbe } from './request-probe.js';

/** What the guard puts on the request (Express's, or Fastify's FastifyRequest). */
export interface TaggedRequest {
  headers: Record<string, string | string[] | undefined>;
  user?: { id: string };
}

/** Sets `request.user` from `x-user`, as an auth guard would, and remembers the request. */
@Injectable()
export class RequestTagGuard implements CanActivate {
  constructor(private readonly probe: RequestProbe) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<TaggedRequest>();
    request.user = { id: String(request.headers['x-user'] ?? 'anonymous') };
    this.probe.guarded.add(request);
    return true;
  }
}

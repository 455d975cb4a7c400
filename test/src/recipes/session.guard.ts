import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { IncomingMessage } from 'node:http';

/** Who a request is from, once {@link SessionGuard} let it through. */
export interface SessionUser {
  id: string;
}

/** A request that passed {@link SessionGuard}. */
export type AuthedRequest = IncomingMessage & {
  user: SessionUser;
  query?: Record<string, unknown>;
};

/** The sessions this app knows: token → user (a real app asks its session store). */
export const SESSIONS = new Map<string, SessionUser>([
  ['token-alice', { id: 'alice' }],
  ['token-bob', { id: 'bob' }],
]);

/**
 * The README's auth recipe. An `EventSource` cannot send an `Authorization` header, so the
 * token comes from the session cookie (same origin, or `withCredentials: true`), else from a
 * `token` query parameter (a short-lived token: URLs end up in access logs).
 */
@Injectable()
export class SessionGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const token = cookie(req.headers.cookie, 'session') ?? queryToken(req);
    const user = token === undefined ? undefined : SESSIONS.get(token);
    if (user === undefined) throw new UnauthorizedException('Sign in first');
    req.user = user;
    return true;
  }
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

function queryToken(req: AuthedRequest): string | undefined {
  const token = req.query?.['token'];
  return typeof token === 'string' ? token : undefined;
}

import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';

/** Lets through requests with `x-key: open`; the others get Nest's 403. */
@Injectable()
export class KeyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    return request.headers['x-key'] === 'open';
  }
}

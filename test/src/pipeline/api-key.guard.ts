import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { IncomingMessage } from 'node:http';

/** Throws 401 without an `x-api-key` header. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<IncomingMessage>();
    if (req.headers['x-api-key'] === undefined) {
      throw new UnauthorizedException('An x-api-key header is required');
    }
    return true;
  }
}

import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';

/** Lets through `Authorization: Bearer letmein`; returns false (403) otherwise. */
@Injectable()
export class BearerGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<IncomingMessage>();
    return req.headers.authorization === 'Bearer letmein';
  }
}

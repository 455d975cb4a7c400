import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { CallLog } from '../../support/call-log.js';
import { Roles } from './roles.decorator.js';

/** Lets a request through when its `x-role` header is one of the handler's `@Roles()`. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly log: CallLog,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.get(Roles, context.getHandler()) ?? [];
    this.log.record(`roles-guard:${roles.join(',')}`);
    const role = context.switchToHttp().getRequest<IncomingMessage>().headers['x-role'];
    return typeof role === 'string' && roles.includes(role);
  }
}

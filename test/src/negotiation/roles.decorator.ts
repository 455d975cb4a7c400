import { Reflector } from '@nestjs/core';

/** The roles (sent by the client in `x-role`) that may call a handler guarded by RolesGuard. */
export const Roles = Reflector.createDecorator<string[]>();

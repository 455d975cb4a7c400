import { type CallHandler, Injectable, type NestInterceptor } from '@nestjs/common';
import { type Observable, tap } from 'rxjs';
import { FastifyProbe } from './fastify-probe.js';

/** Records every value an interceptor sees of a route's answer. */
@Injectable()
export class CountingInterceptor implements NestInterceptor {
  constructor(private readonly probe: FastifyProbe) {}

  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(tap((value) => this.probe.intercepted.push(value)));
  }
}

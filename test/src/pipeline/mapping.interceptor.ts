import { type CallHandler, Injectable, type NestInterceptor } from '@nestjs/common';
import { map, type Observable } from 'rxjs';
import { MappingProbe } from './mapping-probe.js';

/**
 * The usual response-shaping interceptor (`map()` over what the handler answers): records what
 * it was given and replaces it with an envelope.
 */
@Injectable()
export class MappingInterceptor implements NestInterceptor {
  constructor(private readonly probe: MappingProbe) {}

  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      map((value: unknown) => {
        this.probe.mapped.push(value);
        return { data: 'wrapped by the interceptor' };
      }),
    );
  }
}

import { Injectable } from '@nestjs/common';

/** What the mapping interceptor was given of a stream route's answer, per application. */
@Injectable()
export class MappingProbe {
  readonly mapped: unknown[] = [];
}

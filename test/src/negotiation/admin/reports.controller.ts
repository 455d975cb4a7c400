import { Controller, Get, type MessageEvent } from '@nestjs/common';
import { type Observable, of } from 'rxjs';
import { EventStream } from '../../../../src/index.js';

/** Mounted under `admin` by RouterModule: `/admin/reports`. */
@Controller('reports')
export class ReportsController {
  @Get()
  plain(): { handler: string } {
    return { handler: 'reports.plain' };
  }

  @EventStream()
  stream(): Observable<MessageEvent> {
    return of({ data: 'reports.stream' });
  }
}

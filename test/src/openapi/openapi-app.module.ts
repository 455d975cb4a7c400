import { Module } from '@nestjs/common';
import { SseModule } from '../../../src/index.js';
import { ArticlesController } from './articles.controller.js';
import { BareController } from './bare.controller.js';
import { JobsController } from './jobs.controller.js';
import { PricesController } from './prices.controller.js';
import { TicksController } from './ticks.controller.js';
import { UndocumentedController } from './undocumented.controller.js';

/** Paired and stream-only routes, documented with @ApiEventStream() (and one without). */
@Module({
  imports: [SseModule.forRoot()],
  controllers: [
    ArticlesController,
    PricesController,
    TicksController,
    JobsController,
    BareController,
    UndocumentedController,
  ],
})
export class OpenApiAppModule {}

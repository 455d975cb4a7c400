import { Controller, Query } from '@nestjs/common';
import { EventStream, type SseEvent } from '../../../src/index.js';
import { PullProbe, type PullRecord } from './pull-probe.js';

/**
 * Pull sources: `count` events of `size` bytes of data, produced only when asked for, that
 * tell their record each time they are pulled and when they are released.
 */
@Controller('pull')
export class PullController {
  constructor(private readonly probe: PullProbe) {}

  @EventStream('generator')
  generator(@Query('count') count = '3', @Query('size') size = '8'): AsyncIterable<SseEvent> {
    return generate(this.probe.track(), Number(count), 'g'.repeat(Number(size)));
  }

  @EventStream('readable')
  readable(@Query('count') count = '3', @Query('size') size = '8'): ReadableStream<SseEvent> {
    const probe = this.probe.track();
    const data = 'r'.repeat(Number(size));
    let next = 0;
    return new ReadableStream<SseEvent>({
      pull(controller) {
        if (next >= Number(count)) {
          controller.close();
          return;
        }
        probe.pulled();
        controller.enqueue({ id: next++, data });
      },
      cancel() {
        probe.release('cancel');
      },
    });
  }
}

async function* generate(probe: PullRecord, count: number, data: string): AsyncGenerator<SseEvent> {
  try {
    for (let id = 0; id < count; id++) {
      probe.pulled();
      yield { id, data };
    }
  } finally {
    probe.release('finally');
  }
}

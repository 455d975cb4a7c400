import { Injectable } from '@nestjs/common';
import { Subject } from 'rxjs';
import type { SseEvent } from '../../../src/index.js';

/**
 * Named channels of events that a test pushes itself, as fast as it likes: the producer side of
 * a slow-client scenario, with no backpressure of its own (a `Subject`).
 */
@Injectable()
export class EventFeed {
  private readonly channels = new Map<string, Subject<SseEvent>>();

  channel(name: string): Subject<SseEvent> {
    let channel = this.channels.get(name);
    if (channel === undefined) {
      channel = new Subject<SseEvent>();
      this.channels.set(name, channel);
    }
    return channel;
  }
}

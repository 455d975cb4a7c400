import { Injectable, type MessageEvent } from '@nestjs/common';
import { type Observable, startWith, Subject } from 'rxjs';
import { prepareEvent } from '../../src/index.js';
import { makeEvent, type BenchEvent } from './payload.js';

/**
 * The one `Subject` both Nest servers fan out from, as an application would: every stream
 * subscribes to it, and a publish is one `next()` of a prepared event (`prepareEvent()`, the
 * documented fan-out recipe: serialized once for every stream). Nest's own `@Sse()` takes it
 * as the plain event it also is.
 */
@Injectable()
export class Feed {
  private readonly subject = new Subject<MessageEvent>();

  publish(event: BenchEvent): void {
    this.subject.next(prepareEvent(event));
  }

  /** The live events. */
  events(): Observable<MessageEvent> {
    return this.subject.asObservable();
  }

  /** The live events, after one event of its own (what a churn cycle waits for). */
  churn(): Observable<MessageEvent> {
    return this.subject.pipe(startWith(makeEvent(0, 100)));
  }

  subscribers(): number {
    // Counted by the Subject itself, so that counting adds nothing to the streams measured.
    return this.subject.observers.length;
  }
}

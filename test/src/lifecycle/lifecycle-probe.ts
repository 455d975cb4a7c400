import { Injectable, type MessageEvent } from '@nestjs/common';
import { Subject } from 'rxjs';

/** Counts the subscriptions and teardowns of the fixture streams, per application. */
@Injectable()
export class LifecycleProbe {
  subscribed = 0;
  finalized = 0;
  /** Values a synchronous producer made. */
  produced = 0;
  /** A source shared by several streams, which the test drives. */
  readonly shared = new Subject<MessageEvent>();
  /** Resolves the first time a stream's `finalize` runs. */
  readonly firstFinalize: Promise<void>;
  /** Resolves when a handler with an async setup is called. */
  readonly firstSetup: Promise<void>;
  private onFinalize!: () => void;
  private onSetup!: () => void;

  constructor() {
    this.firstFinalize = new Promise((resolve) => (this.onFinalize = resolve));
    this.firstSetup = new Promise((resolve) => (this.onSetup = resolve));
  }

  setupStarted(): void {
    this.onSetup();
  }

  subscribe(): void {
    this.subscribed += 1;
  }

  finalize(): void {
    this.finalized += 1;
    this.onFinalize();
  }
}

import { Injectable } from '@nestjs/common';

/** Counts the subscriptions and teardowns of the fixture streams, per application. */
@Injectable()
export class LifecycleProbe {
  subscribed = 0;
  finalized = 0;
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

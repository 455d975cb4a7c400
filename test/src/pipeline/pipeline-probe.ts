import { Injectable } from '@nestjs/common';

/**
 * What the pipeline fixtures saw, per application: handler calls, the values an interceptor
 * observed, and the AbortSignal a handler received.
 */
@Injectable()
export class PipelineProbe {
  private readonly calls = new Map<string, number>();
  readonly intercepted: unknown[] = [];
  interceptedCompleted = false;
  signal?: AbortSignal;
  /** Resolves when a handler that takes the signal is called. */
  readonly handlerCalled: Promise<void>;
  /** Resolves when the signal a handler received aborts. */
  readonly aborted: Promise<void>;
  private onHandlerCalled!: () => void;
  private onAborted!: () => void;

  constructor() {
    this.handlerCalled = new Promise((resolve) => (this.onHandlerCalled = resolve));
    this.aborted = new Promise((resolve) => (this.onAborted = resolve));
  }

  record(handler: string): void {
    this.calls.set(handler, this.count(handler) + 1);
  }

  count(handler: string): number {
    return this.calls.get(handler) ?? 0;
  }

  watch(signal: AbortSignal): void {
    this.signal = signal;
    signal.addEventListener('abort', () => this.onAborted(), { once: true });
    this.onHandlerCalled();
  }
}

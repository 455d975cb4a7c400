import { Injectable } from '@nestjs/common';

/** What the Fastify fixtures saw: interceptor values, sources released, signals aborted. */
@Injectable()
export class FastifyProbe {
  readonly intercepted: unknown[] = [];
  readonly released: string[] = [];
  readonly aborted: string[] = [];
  readonly clientKeys: Array<string | undefined> = [];
  private readonly waiters: Array<() => void> = [];

  release(name: string): void {
    this.released.push(name);
    for (const wake of this.waiters.splice(0)) wake();
  }

  abort(name: string): void {
    this.aborted.push(name);
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves once `check` holds, re-checked on every release or abort. */
  async until(check: () => boolean): Promise<void> {
    while (!check()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
}

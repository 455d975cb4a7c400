import {
  Catch,
  type ExceptionFilter,
  Inject,
  Injectable,
  type OnModuleInit,
  type Type,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { StreamRegistry } from '../connection/stream-registry.js';
import { SseModuleMissingError } from '../errors/sse-module-missing.error.js';

/**
 * An exception filter whose only work is done at `app.init()`: it fails start-up when the
 * application has an `@EventStream()` route (`handler`) but does not import
 * `SseModule.forRoot()`, which would otherwise fail on the route's first request.
 *
 * Nest builds a filter named by `@UseFilters()` in the controller's module and runs its
 * lifecycle hooks, which makes it the one place to look without a provider of our own. It
 * catches only a class nothing throws, so every error goes on to the filters it had.
 */
export function sseModuleCheck(handler: string): Type<ExceptionFilter> {
  // A class of its own, so that no error anyone throws is an instance of it.
  class NeverThrown {
    private readonly never = true;
  }

  @Injectable()
  @Catch(NeverThrown)
  class SseModuleCheck implements ExceptionFilter, OnModuleInit {
    constructor(@Inject(ModuleRef) private readonly moduleRef: ModuleRef) {}

    onModuleInit(): void {
      let registry: StreamRegistry | undefined;
      try {
        registry = this.moduleRef.get(StreamRegistry, { strict: false });
      } catch {
        registry = undefined;
      }
      if (registry === undefined) throw new SseModuleMissingError(handler);
    }

    catch(exception: unknown): never {
      throw exception;
    }
  }
  return SseModuleCheck;
}

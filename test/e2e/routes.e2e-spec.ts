import 'reflect-metadata';
import { Controller, Get, type INestApplication, Module, Next, Query, Res } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { concat, NEVER, of } from 'rxjs';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EventStream,
  InvalidStreamRouteError,
  SseModule,
  SseModuleMissingError,
  StreamRegistry,
  UnsupportedPlatformError,
} from '../../src/index.js';
import { openEventStream } from '../../src/testing/index.js';
import { HttpCodeAboveAppModule } from '../src/negotiation/http-code-above-app.module.js';
import { NegotiationAppModule } from '../src/negotiation/negotiation-app.module.js';

let app: INestApplication | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function init(module: unknown, adapter?: ExpressAdapter): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [module as never] }).compile();
  app =
    adapter === undefined
      ? moduleRef.createNestApplication({ logger: false })
      : moduleRef.createNestApplication(adapter, { logger: false });
  await app.init();
  return app;
}

async function initError(module: unknown, adapter?: ExpressAdapter): Promise<unknown> {
  return init(module, adapter).then(
    () => undefined,
    (error: unknown) => error,
  );
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

@Controller('pair')
class PairController {
  @Get()
  plain() {
    return { handler: 'pair.plain' };
  }

  @EventStream()
  stream() {
    return of({ data: 'pair.stream' });
  }
}

describe('route capture (Express)', () => {
  it('registers one layer per path and method in Express’s route table', async () => {
    await init(NegotiationAppModule);
    const stack = (app!.getHttpAdapter().getInstance() as { router: { stack: Layer[] } }).router
      .stack;
    const routes = stack
      .filter((layer) => layer.route !== undefined)
      .flatMap((layer) =>
        Object.keys(layer.route!.methods).map((method) => `${method} ${layer.route!.path}`),
      );
    expect(routes.filter((route) => route === 'get /feed')).toHaveLength(1);
    expect(routes.filter((route) => route === 'get /stream-first')).toHaveLength(1);
    expect(new Set(routes).size).toBe(routes.length);
  });

  it('fails start-up when a stream route reaches the adapter without the capture', async () => {
    // An adapter whose route methods cannot be replaced, as a Nest that registered routes some
    // other way would look to the capture.
    class SealedAdapter extends ExpressAdapter {
      constructor() {
        super();
        const get = ExpressAdapter.prototype.get;
        Object.defineProperty(this, 'get', {
          get: () => get.bind(this),
          set() {},
          configurable: true,
        });
      }
    }
    @Module({ imports: [SseModule.forRoot()], controllers: [PairController] })
    class PairModule {}
    const error = await initError(PairModule, new SealedAdapter());
    expect(error).toBeInstanceOf(InvalidStreamRouteError);
    expect((error as Error).message).toContain('PairController.stream');
  });

  it('gives the adapter its route methods back', async () => {
    const adapter = new ExpressAdapter();
    const own = Object.keys(adapter);
    @Module({ imports: [SseModule.forRoot()], controllers: [PairController] })
    class PairModule {}
    await init(PairModule, adapter);
    expect(Object.keys(adapter).filter((key) => !own.includes(key))).toEqual([]);
    await request(app!.getHttpServer()).get('/pair').set('Accept', '*/*').expect(200);
  });

  it('gives the adapter its route methods back when start-up fails', async () => {
    const adapter = new ExpressAdapter();
    const own = Object.keys(adapter);
    const error = await initError(HttpCodeAboveAppModule, adapter);
    expect(error).toBeInstanceOf(InvalidStreamRouteError);
    expect(Object.keys(adapter).filter((key) => !own.includes(key))).toEqual([]);
  });

  it('refuses an adapter it cannot pair routes on, naming the supported ones', async () => {
    class OtherAdapter extends ExpressAdapter {
      override getType(): string {
        return 'koa';
      }
    }
    @Module({ imports: [SseModule.forRoot()], controllers: [PairController] })
    class PairModule {}
    const error = await initError(PairModule, new OtherAdapter());
    expect(error).toBeInstanceOf(UnsupportedPlatformError);
    expect((error as Error).message).toMatch(/"koa".*"express" and "fastify"/);
  });

  it('finds a missing SseModule.forRoot() at app.init(), not on the first request', async () => {
    @Module({ controllers: [PairController] })
    class NoSseModule {}
    const error = await initError(NoSseModule);
    expect(error).toBeInstanceOf(SseModuleMissingError);
    expect((error as Error).message).toContain('PairController.stream');
  });
});

describe('an Express instance another Nest application streams from', () => {
  @Controller()
  class FirstController {
    @EventStream('first')
    stream() {
      return concat(of({ data: 'first' }), NEVER);
    }
  }

  @Module({ imports: [SseModule.forRoot()], controllers: [FirstController] })
  class FirstModule {}

  it('serves its streams from its own registry, not the one the instance holds', async () => {
    // Where a Nest application keeps its registry on the Express instance it owns (a global
    // symbol): here another application's, that took the instance first.
    const adapter = new ExpressAdapter();
    const instance = adapter.getInstance() as Record<symbol, unknown>;
    const other = { serve: () => expect.unreachable('served by the other registry') };
    instance[Symbol.for('nestjs-event-stream.registry')] = other;
    const first = await init(FirstModule, adapter);
    const stream = await openEventStream(first, { path: '/first' });
    expect(await stream.take(1)).toMatchObject([{ data: 'first' }]);
    expect(
      first
        .get(StreamRegistry)
        .list()
        .map((open) => open.path),
    ).toEqual(['/first']);
    await stream.close();
    expect(instance[Symbol.for('nestjs-event-stream.registry')]).toBe(other);
  });
});

function declareWith(parameter: ParameterDecorator): void {
  class Declared {
    stream(_value: unknown) {
      return of({ data: 'x' });
    }
  }
  parameter(Declared.prototype, 'stream', 0);
  const descriptor = Object.getOwnPropertyDescriptor(Declared.prototype, 'stream')!;
  EventStream()(Declared.prototype, 'stream', descriptor);
}

function refusal(declare: () => void): unknown {
  try {
    declare();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('@EventStream() leaves the user’s parameters alone', () => {
  it.each([
    ['@Res()', Res()],
    ['@Res({ passthrough: true })', Res({ passthrough: true })],
    ['@Next()', Next()],
  ])('refuses %s on a stream route', (_name, parameter) => {
    const error = refusal(() => declareWith(parameter));
    expect(error).toBeInstanceOf(InvalidStreamRouteError);
    expect((error as Error).message).toContain('Declared.stream');
  });

  it('refuses a route whose parameters cannot be counted (no decorator metadata)', () => {
    // As esbuild or tsx emit it: no design:paramtypes, and a default value makes length 0.
    class Declared {
      stream(query: string = 'all') {
        return of({ data: query });
      }
    }
    expect(Declared.prototype.stream.length).toBe(0);
    Query('q')(Declared.prototype, 'stream', 0);
    const descriptor = Object.getOwnPropertyDescriptor(Declared.prototype, 'stream')!;
    const error = refusal(() => EventStream()(Declared.prototype, 'stream', descriptor));
    expect(error).toBeInstanceOf(InvalidStreamRouteError);
    expect((error as Error).message).toMatch(/parameter #0 .*decorator metadata/);
  });
});

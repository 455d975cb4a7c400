import 'reflect-metadata';
import { Controller, RequestMethod } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  EventStream,
  type EventStreamOptions,
  InvalidOptionError,
  memoryBroker,
  SseModule,
  type SseModuleOptions,
} from '../../src/index.js';

const TOO_LONG_FOR_A_TIMER = 2 ** 31;

async function compile(options: SseModuleOptions) {
  const moduleRef = await Test.createTestingModule({
    imports: [SseModule.forRoot(options)],
  }).compile();
  await moduleRef.close();
}

async function refusal(options: SseModuleOptions): Promise<InvalidOptionError> {
  const error: unknown = await compile(options).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InvalidOptionError);
  return error as InvalidOptionError;
}

describe('SseModule.forRoot() refuses at start-up, naming the option', () => {
  const cases: Array<[keyof SseModuleOptions | string, unknown]> = [
    ['retryMs', 1500.5],
    ['retryMs', -1],
    ['heartbeatMs', Infinity],
    ['heartbeatMs', null],
    ['heartbeatMs', Number.NaN],
    ['heartbeatMs', '15000'],
    ['heartbeatMs', 0.5],
    ['maxLifetimeMs', TOO_LONG_FOR_A_TIMER],
    ['shutdownGraceMs', TOO_LONG_FOR_A_TIMER],
    ['shutdownGraceMs', 10.5],
    ['reconnectDelayMs', -5],
    ['reconnectJitterMs', Infinity],
    ['maxBufferedBytes', 0],
    ['maxBufferedBytes', 1024.5],
    ['maxTotalBufferedBytes', Infinity],
    ['maxConnections', 2.5],
    ['maxConnections', -1],
    ['maxConnectionsPerClient', Number.NaN],
    ['replayPageSize', 0],
    ['replayBufferLimit', 1.5],
    ['errorEvent', ''],
    ['errorEvent', 'bad\nname'],
    ['resetEvent', 'bad\rname'],
    ['limitEvent', 42],
    ['slowClientPolicy', 'drop-newest'],
    ['limitResponse', 'retry-later'],
    ['clientKey', 'ip'],
    ['shutdownEvent', 'bye'],
    ['shutdownEvent', { type: 'bye' }],
    ['shutdownEvent', { id: 'a\nb', data: 'x' }],
    ['meterProvider', {}],
    ['broker', {}],
    ['broker', { publish: () => undefined }],
    ['heartbeatMS', 1000],
  ];
  it.each(cases)('%s: %j', async (option, value) => {
    const error = await refusal({ [option]: value } as SseModuleOptions);
    expect(error.code).toBe('SSE_INVALID_OPTION');
    expect(error.option).toBe(option);
    expect(error.message).toContain(`SseModule.forRoot(): option "${option}"`);
  });

  it('says what a value must be', async () => {
    const error = await refusal({ retryMs: 1500.5 });
    expect(error.message).toBe(
      'SseModule.forRoot(): option "retryMs" must be a whole number of milliseconds from 0 to ' +
        '2147483647, got 1500.5.',
    );
  });

  it('accepts the edges: 0 for never, Infinity for no limit, the longest timer, undefined', async () => {
    await expect(
      compile({
        heartbeatMs: 0,
        maxLifetimeMs: TOO_LONG_FOR_A_TIMER - 1,
        maxConnections: Infinity,
        maxConnectionsPerClient: 0,
        retryMs: 0,
        shutdownGraceMs: 0,
        replayBufferLimit: 0,
        errorEvent: undefined,
        broker: memoryBroker(),
        clientKey: () => 'everyone',
        shutdownEvent: { type: 'bye', data: '' },
      }),
    ).resolves.toBeUndefined();
  });
});

function declare(options: EventStreamOptions): void {
  @Controller()
  class Declared {
    @EventStream('x', options)
    feed() {
      return of({ data: 'x' });
    }
  }
  void Declared;
}

describe('@EventStream() refuses its options where the route is declared', () => {
  const cases: Array<[string, unknown]> = [
    ['retryMs', 1500.5],
    ['heartbeatMs', Infinity],
    ['heartbeatMs', null],
    ['maxLifetimeMs', TOO_LONG_FOR_A_TIMER],
    ['maxBufferedBytes', -1],
    ['maxConnections', 0.5],
    ['errorEvent', 'a\nb'],
    ['resetEvent', ''],
    ['slowClientPolicy', 'never'],
    ['method', 'GET'],
    ['heartbeat', 1000],
  ];
  it.each(cases)('%s: %j', (option, value) => {
    let error: unknown;
    try {
      declare({ [option]: value } as EventStreamOptions);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe(option);
    expect((error as InvalidOptionError).message).toContain(
      `@EventStream() Declared.feed: option "${option}"`,
    );
  });

  it('accepts valid route options', () => {
    expect(() =>
      declare({ method: RequestMethod.POST, heartbeatMs: 0, maxConnections: 1, retryMs: 2500 }),
    ).not.toThrow();
  });
});

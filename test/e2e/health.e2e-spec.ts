import 'reflect-metadata';
import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryBroker, redisBroker, type SseBroker } from '../../src/index.js';
import { HealthAppModule } from '../src/health/health-app.module.js';
import { REDIS_SERVER_BIN, RedisServer, redisServerInstalled } from '../support/redis-server.js';

// The README's readiness recipe for @nestjs/terminus, run for real: a /health/ready route on the
// hub's broker, with a redis-server of the test's own stopped and started again under it.

const installed = redisServerInstalled();
if (process.env.CI === 'true') {
  it(`health.e2e-spec: ${REDIS_SERVER_BIN} is installed (required under CI=true)`, () => {
    expect(installed, `${REDIS_SERVER_BIN} is missing; CI must install redis-server`).toBe(true);
  });
} else if (!installed) {
  console.warn(
    `health.e2e-spec: the Redis case is skipped: ${REDIS_SERVER_BIN} is missing, and it starts ` +
      'a redis-server of its own (apt-get install redis-server).',
  );
}

/** Probes tried, 50 ms apart, until the expected answer: ioredis' backoff (≤ 2 s) fits in it. */
const MAX_PROBES = 200;
const PROBE_INTERVAL_MS = 50;

interface Probe {
  status: number;
  body: {
    status: string;
    info?: Record<string, Record<string, unknown>>;
    error?: Record<string, Record<string, unknown>>;
  };
}

let app: INestApplication | undefined;
let redis: RedisServer | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
  await redis?.kill();
  redis = undefined;
});

async function start(broker?: SseBroker): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [HealthAppModule.register(broker)],
  }).compile();
  app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

async function probe(): Promise<Probe> {
  const response = await request(app!.getHttpServer()).get('/health/ready');
  return { status: response.status, body: response.body as Probe['body'] };
}

/** Probes until one answers `status`; fails, with the answers seen, after MAX_PROBES. */
async function probeUntil(status: number): Promise<Probe> {
  const seen = new Set<string>();
  for (let attempt = 0; attempt < MAX_PROBES; attempt++) {
    const answer = await probe();
    if (answer.status === status) return answer;
    seen.add(`${answer.status} ${JSON.stringify(answer.body)}`);
    await delay(PROBE_INTERVAL_MS);
  }
  throw new Error(`/health/ready never answered ${status}; it answered: ${[...seen].join(' | ')}`);
}

describe('readiness on the memory broker', () => {
  it('is always up', async () => {
    await start();
    const answer = await probe();
    expect(answer).toEqual({
      status: 200,
      body: expect.objectContaining({
        status: 'ok',
        info: { 'sse-broker': expect.objectContaining({ status: 'up', broker: 'memory' }) },
      }),
    });
  });
});

describe('a broker whose health check fails', () => {
  it('is not ready: 503 down with the failure, not a 500', async () => {
    const broker = Object.assign(memoryBroker(), {
      health: () => Promise.reject(new Error('health check timed out')),
    });
    await start(broker);
    const answer = await probe();
    expect(answer.status).toBe(503);
    expect(answer.body.error?.['sse-broker']).toEqual({
      status: 'down',
      message: 'health check timed out',
    });
  });
});

describe.runIf(installed)('readiness on the Redis broker', () => {
  it('is up, then down (503, with a message) while Redis is stopped, then up again', async () => {
    redis = await RedisServer.launch();
    await start(redisBroker({ url: redis.url }));

    const up = await probe();
    expect(up.status).toBe(200);
    expect(up.body.status).toBe('ok');
    expect(up.body.info?.['sse-broker']).toMatchObject({ status: 'up', broker: 'redis' });

    await redis.shutdown();
    // Depends on the Redis broker's health() PINGing its publisher: a connection that merely
    // reconnects says `degraded` (200), and only an unreachable Redis says `down`.
    const down = await probeUntil(503);
    expect(down.body.status).toBe('error');
    const indicator = down.body.error?.['sse-broker'];
    expect(indicator).toMatchObject({ status: 'down', broker: 'redis' });
    expect(indicator?.message).toEqual(expect.any(String));
    expect(String(indicator?.message).length).toBeGreaterThan(0);

    await redis.start();
    const back = await probeUntil(200);
    // Once the publisher is back, the reader may still be reconnecting for a moment.
    const recovered = back.body.status === 'ok' ? back : await probeUntilOk();
    expect(recovered.body.info?.['sse-broker']).toMatchObject({ status: 'up' });
  });
});

/** Probes until the check is `ok` (not `degraded`); fails after MAX_PROBES. */
async function probeUntilOk(): Promise<Probe> {
  for (let attempt = 0; attempt < MAX_PROBES; attempt++) {
    const answer = await probe();
    if (answer.status === 200 && answer.body.status === 'ok') return answer;
    await delay(PROBE_INTERVAL_MS);
  }
  throw new Error(`/health/ready never answered 200 ok after Redis came back`);
}

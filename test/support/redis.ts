import { Redis } from 'ioredis';
import { connect } from 'node:net';
import { expect, it } from 'vitest';

/** The Redis of this machine and of CI (`.ci/run` starts it). */
export const REDIS_HOST = '127.0.0.1';
export const REDIS_PORT = 6379;
export const REDIS_URL = `redis://${REDIS_HOST}:${REDIS_PORT}`;

/**
 * Whether a Redis answers `PING` at 127.0.0.1 (port 6379) within `timeoutMs`. Never throws: a refused
 * connection, a timeout or any other answer is `false`.
 */
export function redisAvailable(timeoutMs = 500, port = REDIS_PORT): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, REDIS_HOST);
    let reply = '';
    const finish = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.setEncoding('latin1');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}

/**
 * Says what happens to the Redis suites of `file`: when Redis is missing they are skipped with a
 * printed reason, except under `CI=true`, where a test of this file asserts that Redis answers
 * (a CI run that silently skipped them would prove nothing).
 */
export function reportRedisAvailability(available: boolean, file: string): void {
  if (process.env.CI === 'true') {
    it(`${file}: Redis answers at ${REDIS_URL} (required under CI=true)`, () => {
      expect(available, `no Redis answered PING at ${REDIS_URL}; CI must provide it`).toBe(true);
    });
  } else if (!available) {
    console.warn(
      `${file}: the Redis suites are skipped: no Redis answered PING at ${REDIS_URL} ` +
        '(start one with `redis-server`, or run `.ci/run`).',
    );
  }
}

/** A key prefix no other run (of this file, of another engineer) shares. */
export function uniqueKeyPrefix(label: string): string {
  return `test:${label}:${process.pid}:${Date.now()}:`;
}

/** A connection of the test's own, apart from the ones the brokers open. */
export function adminClient(): Redis {
  return new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
}

/** Deletes every key under `prefix`; the test's own connection is opened and closed here. */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = adminClient();
  try {
    await redis.connect();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

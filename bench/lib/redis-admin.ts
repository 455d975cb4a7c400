/**
 * The orchestrator's own Redis connection, for the hub group: the CPU redis-server used (from
 * `INFO cpu`, so no access to its process is needed), and the deletion of a run's keys.
 */
import type { Redis } from 'ioredis';

export interface RedisSample {
  cpuMs: number;
  commands: number;
}

export interface RedisAdmin {
  readonly version: string;
  /** The PID of redis-server (`INFO server`), for its CPU time in /proc. */
  readonly processId: number;
  /**
   * CPU time redis-server used since it started (user + system of its main process), in ms,
   * and the commands it processed (from every client: the machine is shared).
   */
  sample(): Promise<RedisSample>;
  /** Keys whose name starts with `prefix`. */
  keys(prefix: string): Promise<string[]>;
  /** Deletes the keys whose name starts with `prefix`; resolves with how many there were. */
  deleteKeys(prefix: string): Promise<number>;
  close(): Promise<void>;
}

/** Only 127.0.0.1: the benchmark talks to nothing else. */
export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1') {
    throw new Error(`the benchmark uses Redis on 127.0.0.1 only, not "${host}" (${url})`);
  }
}

/** A key prefix holds no glob character: SCAN MATCH `<prefix>*` matches exactly its keys. */
export function assertPlainPrefix(prefix: string): void {
  if (!/^[A-Za-z0-9:_.-]+$/.test(prefix)) throw new Error(`unsafe key prefix "${prefix}"`);
}

export async function connectRedisAdmin(url: string): Promise<RedisAdmin> {
  assertLoopback(url);
  const { Redis: RedisClient } = await import('ioredis');
  const client: Redis = new RedisClient(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  await client.connect();
  const server = await client.info('server');
  const version = /redis_version:(\S+)/.exec(server)?.[1] ?? 'unknown';
  const keys = async (prefix: string): Promise<string[]> => {
    assertPlainPrefix(prefix);
    const found: string[] = [];
    let cursor = '0';
    // Bounded: a benchmark run makes one key per variant and run.
    for (let i = 0; i < 100_000; i++) {
      const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      found.push(...batch);
      cursor = next;
      if (cursor === '0') break;
    }
    return found;
  };
  return {
    version,
    processId: Number(/process_id:(\d+)/.exec(server)?.[1]),
    async sample() {
      const info = (await client.call('INFO', 'cpu', 'stats')) as string;
      const field = (name: string) => Number(new RegExp(`\\b${name}:([\\d.]+)`).exec(info)?.[1]);
      return {
        cpuMs: (field('used_cpu_user') + field('used_cpu_sys')) * 1000,
        commands: field('total_commands_processed'),
      };
    },
    keys,
    async deleteKeys(prefix: string) {
      const found = await keys(prefix);
      for (let i = 0; i < found.length; i += 500) await client.del(...found.slice(i, i + 500));
      return found.length;
    },
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/**
 * What the Redis broker needs of a client: the few members of an ioredis `Redis` it uses, spelled
 * out here so that the declarations of this package never import `ioredis` (an optional peer a
 * consumer may not have installed, and whose types would then break `skipLibCheck: false`).
 * An ioredis `Redis` is one.
 *
 * @example
 * ```ts
 * // Redis: the client class of ioredis, imported by your application.
 * const client: RedisClientLike = new Redis(process.env.REDIS_URL!);
 * SseModule.forRoot({ broker: redisBroker({ client }) });
 * ```
 */
export interface RedisClientLike {
  /** `ready` once connected; anything else (`connecting`, `reconnecting`, `end`…) is not. */
  readonly status: string;
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
  pipeline(): RedisPipelineLike;
  duplicate(override?: Record<string, unknown>): RedisClientLike;
  connect(): Promise<void>;
  disconnect(): void;
  quit(): Promise<unknown>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener: (...args: any[]) => void): unknown;
}

/** The members of an ioredis pipeline the broker uses. */
export interface RedisPipelineLike {
  call(command: string, ...args: Array<string | number>): unknown;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

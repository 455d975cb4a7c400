export * from './sse-broker.interface.js';
export { memoryBroker, type MemoryBrokerOptions } from './memory.broker.js';
export { redisBroker, type RedisBrokerOptions, type RedisClusterOptions } from './redis.broker.js';
export type { RedisClientLike, RedisPipelineLike } from './redis-client.interface.js';

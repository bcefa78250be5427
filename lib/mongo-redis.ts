export { MongoRedisScaler } from './scaler/mongo-redis/mongo-redis.scaler.js';
export type {
  MongoRedisScalerOptions,
  MongoWriteConcern,
} from './scaler/mongo-redis/mongo-redis-scaler-options.interface.js';
export { RedisScaler, type RedisScalerOptions } from './scaler/redis/redis.scaler.js';
export type { RedisClusterNodes, RedisConnectionOptions } from './scaler/redis/redis-connection.js';
export { StoreUnavailableError } from './errors/store-unavailable.error.js';
export { MessageNotEncodableError } from './errors/message-not-encodable.error.js';

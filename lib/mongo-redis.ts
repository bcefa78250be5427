export { MongoRedisScaler } from './scaler/mongo-redis/mongo-redis.scaler.js';
export type { MongoRedisScalerOptions } from './scaler/mongo-redis/mongo-redis-scaler-options.interface.js';
export { StoreUnavailableError } from './errors/store-unavailable.error.js';

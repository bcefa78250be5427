import type { Redis, RedisOptions } from 'ioredis';
import type { Connection, ConnectOptions } from 'mongoose';
import type { SssRetention } from '../../interfaces/sss-module-options.interface.js';

/** Options of `MongoRedisScaler`. */
export interface MongoRedisScalerOptions {
  /**
   * Redis for fan-out between instances: a URL (the scaler opens and closes its connections) or an
   * ioredis client of the app (the scaler duplicates it and never closes the original).
   */
  redis: string | Redis;
  /** ioredis options for connections opened from a URL. Default: none beyond the scaler's own. */
  redisOptions?: RedisOptions;
  /**
   * MongoDB for history: a URI (the scaler opens and closes its connection) or the app's Mongoose
   * connection (inject it with `getConnectionToken()`; the scaler never closes it). Required unless
   * `history` is false.
   */
  mongo?: string | Connection;
  /**
   * Store messages in MongoDB for recovery and durability. With `false`, Redis orders and fans out
   * messages and nothing is stored: a publish resolves once Redis took it, and a re-subscription
   * recovers only when nothing was missed (otherwise `out_of_retention`). Default true.
   */
  history?: boolean;
  /** Mongoose options for a connection opened from a URI. Default: `serverSelectionTimeoutMS: 5000`. */
  mongoOptions?: ConnectOptions;
  /** Prefix of Redis channels, Mongo collections and model names. Default 'sss'. */
  prefix?: string;
  /** History kept for recovery. Default: 1000 messages per channel, one day. */
  retention?: SssRetention;
  /** How long an out-of-order message waits for the ones before it before they are read from MongoDB, in ms. Default 100. */
  gapFillDelay?: number;
  /** Largest number of messages of one channel written in one insert. Default 500. */
  maxBatchSize?: number;
}

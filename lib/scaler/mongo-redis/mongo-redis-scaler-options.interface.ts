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
   * connection (inject it with `getConnectionToken()`; the scaler never closes it). Required: to
   * store nothing, use `RedisScaler`.
   */
  mongo: string | Connection;
  /** Mongoose options for a connection opened from a URI. Default: `serverSelectionTimeoutMS: 5000`. */
  mongoOptions?: ConnectOptions;
  /** Prefix of Redis channels, Mongo collections and model names. Default 'sss'. */
  prefix?: string;
  /** History kept for recovery. Default: 1000 messages per channel, one day. */
  retention?: SssRetention;
  /**
   * How long an instance waits for the messages before one that arrived out of order before it
   * reads them from MongoDB, in ms. They are usually in flight and arrive by themselves; a read is
   * for what Redis lost. Default 1000.
   */
  gapFillDelay?: number;
  /**
   * How long a seq may stay missing (its publisher is slow, failed or died) before it is closed
   * with a placeholder that subscribers see as a `skip`, in ms. Default 1000.
   */
  gapTimeout?: number;
  /**
   * Recent messages kept in memory per channel with local subscribers, from which recoveries are
   * served without reading MongoDB. Default: `retention.maxMessages`. 0 reads every recovery from
   * MongoDB.
   */
  recentMessages?: number;
  /** Store reads (recoveries, gap fills, positions) run at once; the others queue. Default 4. */
  maxConcurrentReads?: number;
  /** Largest number of messages of one channel written in one insert. Default 500. */
  maxBatchSize?: number;
  /**
   * How long an instance may stay silent before the others remove its presence entries (with leave
   * events), in ms: entries of a killed instance are gone within about 4/3 of it. Default 6000.
   */
  presenceTimeout?: number;
}

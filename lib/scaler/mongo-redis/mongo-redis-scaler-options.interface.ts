import type { Connection, ConnectOptions } from 'mongoose';
import type { SssRetention } from '../../interfaces/sss-module-options.interface.js';
import type { RedisConnectionOptions } from '../redis/redis-connection.js';

/**
 * Options of `MongoRedisScaler`. Redis for fan-out between instances (and seq counters): `redis` (a
 * URL, or an ioredis `Redis` or `Cluster` of the app, duplicated and never closed by the scaler) or
 * `redisCluster` (`{ nodes, options? }`); see `RedisConnectionOptions`.
 */
export interface MongoRedisScalerOptions extends RedisConnectionOptions {
  /**
   * MongoDB for history: a URI (the scaler opens and closes its connection) or the app's Mongoose
   * connection (inject it with `getConnectionToken()`; the scaler never closes it). Required: to
   * store nothing, use `RedisScaler`.
   */
  mongo: string | Connection;
  /** Mongoose options for a connection opened from a URI. Default: `serverSelectionTimeoutMS: 5000`. */
  mongoOptions?: ConnectOptions;
  /**
   * Write concern of every history write (messages, placeholders, channel documents). A publish
   * resolves only once its message is stored with it. Default `{ w: 'majority' }`: on a replica set
   * or sharded cluster an acknowledged message is on a majority and survives a failover (a `w: 1`
   * write can be rolled back by an election, and its seq then reused by another message); on a
   * standalone server or FerretDB it is the same as `w: 1`. `wtimeoutMS` bounds the wait for the
   * majority (the publish then rejects with `StoreUnavailableError`).
   */
  writeConcern?: MongoWriteConcern;
  /**
   * Read concern of every history read (recoveries, gap fills, counter seeds). Default
   * `'majority'`: a subscriber is never given a message that a failover could roll back. `'local'`
   * reads a little sooner on a replica set and risks that.
   */
  readConcern?: 'majority' | 'local';
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
  /**
   * Newest messages per channel that Redis keeps (besides MongoDB), from which an instance that
   * starts following a channel (a restart, a scale-out) and the recoveries it serves are read
   * instead of the store. Each channel's set expires after its last message, within 10 minutes
   * (or the retention age, if shorter). 0 turns it off. Default 200.
   */
  recentInRedis?: number;
  /**
   * Store queries for ranges of history (recoveries, gap fills, the recent history of a newly
   * followed channel) in flight at once; the ranges asked for meanwhile are merged into the next
   * query. Position checks are bounded by it too. Default 4.
   */
  maxConcurrentReads?: number;
  /** Largest number of messages written in one insert (of all channels together). Default 500. */
  maxBatchSize?: number;
  /**
   * Under load, the shortest time between the starts of two inserts of one instance, in ms (a
   * whole number, at most 1000). When publishes arrived while the last insert was in flight, the
   * next insert waits until this long after the last one started, and takes everything published
   * meanwhile: one store round trip and one Redis script for all of them, which costs much less
   * CPU per message than one each, and adds at most this much latency. A publish that finds the
   * store idle (a quiet instance, a publisher that awaits each publish) is never held. 0 inserts as
   * soon as the last insert ends. Default 10.
   */
  minInsertInterval?: number;
  /**
   * How long an instance may stay silent before the others remove its presence entries (with leave
   * events), in ms: entries of a killed instance are gone within about 4/3 of it. Default 6000.
   */
  presenceTimeout?: number;
}

/** The write concern of history writes; see `MongoRedisScalerOptions.writeConcern`. */
export interface MongoWriteConcern {
  /** How many members acknowledge the write: 'majority' or a number from 1. Default 'majority'. */
  w?: 'majority' | number;
  /** Whether the acknowledgement waits for the on-disk journal. Default: the server's default. */
  journal?: boolean;
  /** How long to wait for `w`, in ms (0: no limit). Default: no limit. */
  wtimeoutMS?: number;
}

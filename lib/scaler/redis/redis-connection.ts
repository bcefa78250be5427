import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { SssConfigurationError } from '../../errors/sss-configuration.error.js';
import { SssMessages } from '../../sss.messages.js';

/** A standalone Redis or a Redis Cluster, as the scalers use it. */
export type RedisClient = Redis | Cluster;

/**
 * A Redis (or Valkey) Cluster given by its nodes: the scaler opens its own ioredis `Cluster`
 * connections to them and closes them on shutdown.
 *
 * @example
 * ```ts
 * new MongoRedisScaler({
 *   redisCluster: { nodes: ['10.0.0.1:6379', { host: '10.0.0.2', port: 6379 }] },
 *   mongo: process.env.MONGO_URL,
 * });
 * ```
 */
export interface RedisClusterNodes {
  /** Some nodes of the cluster (one reachable node is enough; the rest is discovered). 'host:port' or `{ host, port }`. */
  nodes: Array<string | { host: string; port: number }>;
  /** ioredis `ClusterOptions` (e.g. `redisOptions: { password }`, `natMap`). Default: none beyond the scaler's own. */
  options?: ClusterOptions;
}

/** The Redis options both Redis-based scalers share. */
export interface RedisConnectionOptions {
  /**
   * Redis: a URL (the scaler opens and closes its connections), an ioredis `Redis` client of the app,
   * or an ioredis `Cluster` of the app (the scaler duplicates either and never closes the original).
   * Exactly one of `redis` and `redisCluster` is required.
   */
  redis?: string | Redis | Cluster;
  /** ioredis options for connections opened from a URL. Default: none beyond the scaler's own. */
  redisOptions?: RedisOptions;
  /** A Redis Cluster by its nodes, instead of `redis`. See `RedisClusterNodes`. */
  redisCluster?: RedisClusterNodes;
  /**
   * Prefix of Redis keys and channels (and, for `MongoRedisScaler`, of Mongo collections). Without
   * `{` or `}`: the keys of a channel carry the channel as a Redis Cluster hash tag. Default 'sss'.
   */
  prefix?: string;
}

/**
 * Checks the Redis options of a scaler (`scaler` names it in messages) before anything connects;
 * a mistake fails the constructor with the option's name.
 */
export function validateRedisConnection(scaler: string, options: RedisConnectionOptions): void {
  const { redis, redisCluster, redisOptions, prefix } = options;
  if (redis !== undefined && redisCluster !== undefined) {
    throw new SssConfigurationError(SssMessages.redisAndCluster(scaler));
  }
  if (redis === undefined && redisCluster === undefined) {
    throw new SssConfigurationError(SssMessages.redisRequired(scaler));
  }
  if (redis !== undefined && !(typeof redis === 'string' && redis.length > 0) && !isRedisClient(redis)) {
    fail(scaler, 'redis', 'a redis:// URL, an ioredis Redis or an ioredis Cluster', redis);
  }
  if (redisOptions !== undefined && !isRecord(redisOptions)) fail(scaler, 'redisOptions', 'an object', redisOptions);
  if (redisOptions !== undefined && redisCluster !== undefined) {
    fail(scaler, 'redisOptions', 'unset with redisCluster (use redisCluster.options.redisOptions)', redisOptions);
  }
  if (redisCluster !== undefined) {
    if (!isRecord(redisCluster)) fail(scaler, 'redisCluster', 'an object { nodes, options? }', redisCluster);
    const { nodes } = redisCluster;
    if (!Array.isArray(nodes) || nodes.length === 0) {
      fail(scaler, 'redisCluster.nodes', "a non-empty array of 'host:port' or { host, port }", nodes);
    }
    nodes.forEach((node: unknown, index) => {
      if (!isClusterNode(node)) {
        fail(scaler, `redisCluster.nodes[${index}]`, "'host:port' or { host, port } with a port from 1 to 65535", node);
      }
    });
    if (redisCluster.options !== undefined && !isRecord(redisCluster.options)) {
      fail(scaler, 'redisCluster.options', 'an object (ioredis ClusterOptions)', redisCluster.options);
    }
  }
  if (prefix !== undefined && (typeof prefix !== 'string' || prefix.length === 0 || /[{}]/.test(prefix))) {
    fail(scaler, 'prefix', 'a non-empty string without "{" or "}"', prefix);
  }
}

/** Whether the options name a Redis Cluster. */
export function usesCluster(options: RedisConnectionOptions): boolean {
  return options.redisCluster !== undefined || isClusterClient(options.redis);
}

/**
 * Opens the scaler's own client: a new connection from a URL or a node list, or a duplicate of the
 * app's client (the app's own is never closed by the scaler). `subscriber` asks a cluster client for
 * sharded subscribers (SSUBSCRIBE to the node that owns each channel's slot).
 */
export function openRedisClient(options: RedisConnectionOptions, subscriber: boolean): RedisClient {
  const { redis, redisCluster } = options;
  if (redisCluster) {
    const nodes = redisCluster.nodes.map(toClusterNode);
    return new Cluster(nodes, clusterOptions(redisCluster.options, subscriber));
  }
  if (typeof redis === 'string')
    return new Redis(redis, { enableAutoPipelining: !subscriber, ...options.redisOptions });
  if (isClusterClient(redis)) return redis.duplicate([], clusterOptions(undefined, subscriber));
  return (redis as Redis).duplicate();
}

function clusterOptions(options: ClusterOptions | undefined, subscriber: boolean): ClusterOptions {
  return subscriber
    ? { ...options, shardedSubscribers: true }
    : { enableAutoPipelining: true, ...options, shardedSubscribers: false };
}

function toClusterNode(node: string | { host: string; port: number }): { host: string; port: number } {
  if (typeof node !== 'string') return { host: node.host, port: node.port };
  const address = node.replace(/^rediss?:\/\//, '');
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(address.slice(colon + 1)) };
}

function isClusterNode(node: unknown): boolean {
  if (typeof node === 'string') {
    const match = /^(?:rediss?:\/\/)?(.+):(\d+)$/.exec(node);
    return match !== null && isPort(Number(match[2]));
  }
  return isRecord(node) && typeof node.host === 'string' && node.host.length > 0 && isPort(node.port);
}

function isPort(port: unknown): boolean {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65_535;
}

// Duck-typed, so that a client from another copy of ioredis is accepted too.
function isRedisClient(value: unknown): boolean {
  return isRecord(value) && typeof value.duplicate === 'function' && typeof value.publish === 'function';
}

function isClusterClient(value: unknown): value is Cluster {
  return isRedisClient(value) && (value as { isCluster?: unknown }).isCluster === true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(scaler: string, option: string, expected: string, got: unknown): never {
  throw new SssConfigurationError(SssMessages.invalidScalerOption(scaler, option, expected, describe(got)));
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : (value.constructor?.name ?? 'an object');
}

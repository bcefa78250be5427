import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { SssConfigurationError } from '../../lib/errors/sss-configuration.error.js';
import { MongoRedisScaler, RedisScaler } from '../../lib/mongo-redis.js';

/** What a bad Redis or MongoDB option of the scalers answers at construction: an error naming the option. */
describe('Redis and MongoDB options of the scalers', () => {
  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['neither redis nor redisCluster', {}, /needs `redis`.*or `redisCluster`/],
    [
      'both redis and redisCluster',
      { redis: 'redis://127.0.0.1:6379', redisCluster: { nodes: ['a:1'] } },
      /either `redis` or `redisCluster`/,
    ],
    [
      'an empty redis URL',
      { redis: '' },
      /: redis must be a redis:\/\/ URL, an ioredis Redis or an ioredis Cluster; got ""/,
    ],
    ['a number as redis', { redis: 6379 }, /: redis must be .*; got 6379/],
    ['redisCluster without nodes', { redisCluster: {} }, /redisCluster\.nodes must be a non-empty array/],
    ['an empty node list', { redisCluster: { nodes: [] } }, /redisCluster\.nodes must be a non-empty array/],
    [
      'a node without a port',
      { redisCluster: { nodes: ['127.0.0.1:7000', 'localhost'] } },
      /redisCluster\.nodes\[1\] must be/,
    ],
    [
      'a node with port 0',
      { redisCluster: { nodes: [{ host: '127.0.0.1', port: 0 }] } },
      /redisCluster\.nodes\[0\] must be/,
    ],
    [
      'redisOptions beside redisCluster',
      { redisCluster: { nodes: ['a:1'] }, redisOptions: { password: 'x' } },
      /redisOptions must be unset with redisCluster \(use redisCluster\.options\.redisOptions\)/,
    ],
    [
      'a string as cluster options',
      { redisCluster: { nodes: ['a:1'], options: 'x' } },
      /redisCluster\.options must be an object/,
    ],
    [
      'a prefix with a hash tag brace',
      { redis: 'redis://x:1', prefix: 'app{1}' },
      /prefix must be a non-empty string without "\{" or "\}"/,
    ],
  ];

  for (const scaler of ['RedisScaler', 'MongoRedisScaler'] as const) {
    it.each(bad)(`${scaler} refuses %s`, (_, options, message) => {
      const create = () =>
        scaler === 'RedisScaler'
          ? new RedisScaler(options as never)
          : new MongoRedisScaler({ mongo: 'mongodb://127.0.0.1/x', ...options } as never);
      expect(create).toThrow(SssConfigurationError);
      expect(create).toThrow(message);
      expect(create).toThrow(new RegExp(`^${scaler}`));
    });
  }

  it('accepts a URL, an ioredis client, a Cluster node list in both forms (nothing connects yet)', () => {
    const client = new Redis({ lazyConnect: true });
    expect(() => new RedisScaler({ redis: 'redis://127.0.0.1:6379' })).not.toThrow();
    expect(() => new RedisScaler({ redis: client })).not.toThrow();
    expect(
      () =>
        new RedisScaler({
          redisCluster: { nodes: ['127.0.0.1:7000', 'redis://[::1]:7001', { host: 'r3', port: 7002 }] },
        }),
    ).not.toThrow();
    client.disconnect();
  });

  it.each([
    [{ writeConcern: { w: 0 } }, /writeConcern\.w must be 'majority' or an integer from 1; got 0/],
    [{ writeConcern: { w: 'all' } }, /writeConcern\.w must be/],
    [{ writeConcern: 'majority' }, /writeConcern must be an object/],
    [{ writeConcern: { journal: 'yes' } }, /writeConcern\.journal must be a boolean/],
    [{ writeConcern: { wtimeoutMS: -1 } }, /writeConcern\.wtimeoutMS must be an integer from 0/],
    [{ readConcern: 'linearizable' }, /readConcern must be 'majority' or 'local'; got "linearizable"/],
    [{ recentInRedis: -1 }, /recentInRedis must be a whole number of messages, 0 or more .*; got -1/],
    [{ recentInRedis: 2.5 }, /recentInRedis must be a whole number/],
    [{ recentInRedis: '100' }, /recentInRedis must be a whole number/],
    [{ maxBatchSize: 0 }, /maxBatchSize must be a whole number of messages, 1 or more; got 0/],
    [{ maxBatchSize: Number.NaN }, /maxBatchSize must be a whole number/],
    [{ maxConcurrentReads: 0 }, /maxConcurrentReads must be a whole number of queries, 1 or more; got 0/],
    [{ minInsertInterval: -1 }, /minInsertInterval must be a whole number of ms from 0 to 1000; got -1/],
    [{ minInsertInterval: 5_000 }, /minInsertInterval must be a whole number of ms from 0 to 1000; got 5000/],
    [{ minInsertInterval: '10' }, /minInsertInterval must be/],
  ])('MongoRedisScaler refuses %o', (options, message) => {
    const create = () => new MongoRedisScaler({ redis: 'redis://x:1', mongo: 'mongodb://x/y', ...options } as never);
    expect(create).toThrow(SssConfigurationError);
    expect(create).toThrow(message);
  });
});

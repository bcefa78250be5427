import { describe, expect, it } from 'vitest';
import { SssConfigurationError } from '../../lib/index.js';
import { MongoRedisScaler, RedisScaler } from '../../lib/mongo-redis.js';

describe('presenceTimeout of the Redis scalers', () => {
  it.each([10, 1.5, Number.NaN, -1])('refuses %s at construction, naming the option', (presenceTimeout) => {
    expect(() => new RedisScaler({ redis: 'redis://127.0.0.1:1', presenceTimeout })).toThrow(SssConfigurationError);
    expect(() => new RedisScaler({ redis: 'redis://127.0.0.1:1', presenceTimeout })).toThrow(
      'Scaler option presenceTimeout must be an integer of at least 300 (ms).',
    );
    expect(
      () => new MongoRedisScaler({ redis: 'redis://127.0.0.1:1', mongo: 'mongodb://127.0.0.1:1/x', presenceTimeout }),
    ).toThrow(/presenceTimeout/);
  });

  it('accepts the default and valid values', () => {
    expect(() => new RedisScaler({ redis: 'redis://127.0.0.1:1' })).not.toThrow();
    expect(() => new RedisScaler({ redis: 'redis://127.0.0.1:1', presenceTimeout: 300 })).not.toThrow();
  });
});

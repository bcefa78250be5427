import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import type { Scaler, SssRetention } from '../../../lib/index.js';
import { ClusterScaler } from '../../../lib/cluster.js';
import { MongoRedisScaler, RedisScaler } from '../../../lib/mongo-redis.js';
import { ClusterBroker } from '../../../lib/scaler/cluster/cluster.broker.js';
import { TestRedis } from '../../support/test-services.js';

/** The scaler an e2e suite runs on: the same tests run on the embedded default and on Mongo + Redis. */
export interface ScalerVariant {
  readonly name: string;
  setup(): Promise<void>;
  /** A scaler for one app instance; instances of one suite share their Redis and their database. */
  create(retention?: SssRetention): Scaler | undefined;
  teardown(): Promise<void>;
}

export const memoryVariant: ScalerVariant = {
  name: 'embedded memory scaler',
  setup: async () => undefined,
  create: () => undefined,
  teardown: async () => undefined,
};

/** The Redis-only scaler (history off): Redis orders and fans out, nothing is stored. */
export function redisOnlyVariant(): ScalerVariant {
  let redis: TestRedis | undefined;
  return {
    name: 'Redis-only scaler (history off)',
    async setup() {
      redis = await TestRedis.start();
    },
    create() {
      return new RedisScaler({ redis: redis!.url });
    },
    async teardown() {
      await redis?.stop();
    },
  };
}

export function mongoRedisVariant(): ScalerVariant {
  let redis: TestRedis | undefined;
  const database = `sss_${randomUUID().slice(0, 8)}`;
  return {
    name: 'Mongo + Redis scaler',
    async setup() {
      redis = await TestRedis.start();
    },
    create(retention) {
      return new MongoRedisScaler({
        redis: redis!.url,
        mongo: `${inject('mongoBaseUrl')}/${database}`,
        retention,
        gapFillDelay: 50,
      });
    },
    async teardown() {
      await redis?.stop();
    },
  };
}

/**
 * The cluster scaler with its broker in this process, over a loopback link that copies every
 * message through JSON in a later turn, as the cluster's IPC does. The real multi-process cluster
 * (`SssCluster.run`) has its own suite (test/e2e/cluster).
 */
export function clusterVariant(): ScalerVariant {
  let broker: ClusterBroker | undefined;
  return {
    name: 'cluster scaler (in-process broker)',
    setup: async () => undefined,
    create(retention) {
      if (!broker) {
        broker = new ClusterBroker({
          maxMessages: retention?.maxMessages ?? 1_000,
          maxAgeMs: retention?.maxAgeMs ?? 86_400_000,
        });
        void broker.start();
      }
      return new ClusterScaler({ link: broker.loopback() });
    },
    async teardown() {
      await broker?.close();
    },
  };
}
